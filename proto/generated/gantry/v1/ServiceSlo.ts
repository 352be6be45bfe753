// Original file: proto/gantry/v1/agent.proto


export interface ServiceSlo {
  'service'?: (string);
  'metric'?: (string);
  'port'?: (number);
  'windowMs'?: (number);
  'replica'?: (number);
}

export interface ServiceSlo__Output {
  'service': (string);
  'metric': (string);
  'port': (number);
  'windowMs': (number);
  'replica': (number);
}
