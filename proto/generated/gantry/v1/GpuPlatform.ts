// Original file: proto/gantry/v1/types.proto


export interface GpuPlatform {
  'chassisSerial'?: (string);
  'slotNumber'?: (number);
  'trayIndex'?: (number);
  'hostId'?: (number);
  'moduleId'?: (number);
  'peerType'?: (string);
}

export interface GpuPlatform__Output {
  'chassisSerial': (string);
  'slotNumber': (number);
  'trayIndex': (number);
  'hostId': (number);
  'moduleId': (number);
  'peerType': (string);
}
