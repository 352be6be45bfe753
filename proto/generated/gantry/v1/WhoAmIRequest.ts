// Original file: proto/gantry/v1/scheduler.proto


export interface WhoAmIRequest {
}

export interface WhoAmIRequest__Output {
}
