// Original file: proto/gantry/v1/types.proto


export interface Fabric {
  'clusterUuid'?: (string);
  'cliqueId'?: (number);
  'state'?: (string);
  'status'?: (string);
  'trusted'?: (boolean);
  'degradedReason'?: (string);
}

export interface Fabric__Output {
  'clusterUuid': (string);
  'cliqueId': (number);
  'state': (string);
  'status': (string);
  'trusted': (boolean);
  'degradedReason': (string);
}
