// Original file: proto/gantry/v1/types.proto


export interface HcaPort {
  'port'?: (number);
  'state'?: (string);
  'physState'?: (string);
  'rateGbps'?: (number | string);
  'linkLayer'?: (string);
}

export interface HcaPort__Output {
  'port': (number);
  'state': (string);
  'physState': (string);
  'rateGbps': (number);
  'linkLayer': (string);
}
