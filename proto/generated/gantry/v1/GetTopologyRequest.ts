// Original file: proto/gantry/v1/scheduler.proto


export interface GetTopologyRequest {
}

export interface GetTopologyRequest__Output {
}
