// Original file: proto/gantry/v1/scheduler.proto


export interface GetControlPlaneRequest {
}

export interface GetControlPlaneRequest__Output {
}
