export type {
  PlacementMode,
  GangRequest,
  RankAssignment,
  LevelCount,
  DomainsUsed,
  Placement,
  Reason,
  RequestSummary,
  PlacementResult,
} from './types.js';
export type { PlaceOptions } from './engine.js';
export { place, placementKey, describePlacement } from './engine.js';
export type { ResolvedRequest, JobPlacementRequest } from './request.js';
export { resolveRequest, requestFromJobSpec, modeForJob } from './request.js';
export type { UnitsOutcome, JobOutcome } from './units.js';
export { placeReplicas, placeShards, placeJob, releaseAll } from './units.js';
export type { NodeFilter, FilterOutcome } from './filters.js';
export {
  FilterRegistry,
  defaultFilterRegistry,
  DEFAULT_FILTERS,
  schedulableFilter,
  vendorFilter,
  modelFilter,
  memoryFilter,
  labelFilter,
  driverFilter,
  cudaFilter,
  runAsFilter,
  runAsRefusal,
  ROOT_ACCOUNT,
  nodeLabel,
  globToRegExp,
} from './filters.js';
export { chooseGpus } from './gpus.js';
export { explainText, describeRequest, placementLines, reasonLines, gpuList } from './explain.js';
