export type { DomainRef, AggregatorOptions, DomainStatus, DomainChange } from './aggregator.js';
export { LatencyAggregator } from './aggregator.js';
export type { PeerChoiceOptions } from './layout.js';
export { layoutFromTree, choosePeers } from './layout.js';
export type { LatencyTelemetryOptions, LatencyTelemetryDeps } from './service.js';
export { LatencyTelemetry } from './service.js';
