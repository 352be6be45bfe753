// Original file: proto/gantry/v1/scheduler.proto


export interface TopologyDomain {
  'level'?: (string);
  'name'?: (string);
  'parent'?: (string);
  'nodes'?: (number);
  'gpusTotal'?: (number);
  'gpusUsed'?: (number);
  'gpusFree'?: (number);
  'gpusUnavailable'?: (number);
  'degraded'?: (boolean);
}

export interface TopologyDomain__Output {
  'level': (string);
  'name': (string);
  'parent': (string);
  'nodes': (number);
  'gpusTotal': (number);
  'gpusUsed': (number);
  'gpusFree': (number);
  'gpusUnavailable': (number);
  'degraded': (boolean);
}
