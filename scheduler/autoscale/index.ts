export { histogramQuantile, mergeHistograms, sameBounds } from './histogram.js';
export type { BucketCounts } from './histogram.js';
export { ServiceAutoscaler, serviceStateOf, runsReplicaOf } from './autoscaler.js';
export type { AutoscaleOptions, ServiceState, ScaleDecision, Evaluation } from './autoscaler.js';
export { ServiceTelemetry } from './service-telemetry.js';
export type { ServiceDecision, ServiceLookup, ReplicaCheck, ServiceTelemetryDeps } from './service-telemetry.js';
