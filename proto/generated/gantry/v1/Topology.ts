// Original file: proto/gantry/v1/types.proto

import type { LinkMatrix as _gantry_v1_LinkMatrix, LinkMatrix__Output as _gantry_v1_LinkMatrix__Output } from '../../gantry/v1/LinkMatrix';
import type { LinkGroup as _gantry_v1_LinkGroup, LinkGroup__Output as _gantry_v1_LinkGroup__Output } from '../../gantry/v1/LinkGroup';
import type { Fabric as _gantry_v1_Fabric, Fabric__Output as _gantry_v1_Fabric__Output } from '../../gantry/v1/Fabric';

export interface Topology {
  'linkMatrix'?: (_gantry_v1_LinkMatrix | null);
  'linkGroups'?: (_gantry_v1_LinkGroup)[];
  'fabric'?: (_gantry_v1_Fabric | null);
  'domains'?: ({[key: string]: string});
  'nics'?: ({[key: string]: string});
}

export interface Topology__Output {
  'linkMatrix': (_gantry_v1_LinkMatrix__Output | null);
  'linkGroups': (_gantry_v1_LinkGroup__Output)[];
  'fabric': (_gantry_v1_Fabric__Output | null);
  'domains': ({[key: string]: string});
  'nics': ({[key: string]: string});
}
