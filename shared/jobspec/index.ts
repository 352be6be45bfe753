export type {
  JobKind,
  AcceleratorVendor,
  AcceleratorSpec,
  SliceSpec,
  TopologySpec,
  SloSpec,
  JobSpec,
  ParseJobSpecOptions,
  SpecFieldLimits,
} from './spec.js';
export { JOB_DEFAULTS, RESERVED_ENV, SPEC_FIELD_LIMITS, validateJobSpec, parseJobSpec, parseDurationSeconds, servicePort } from './spec.js';
export type { ResourcesSpec, CpuBinding, OnTimeLimit } from './resources.js';
export { RESOURCE_LIMITS, DEFAULT_CPU_BINDING, memoryBytesPerRank, resourcesSpec } from './resources.js';
export type { DocumentOptions } from './document.js';
export { parseDocument, utf8Length, MAX_DOCUMENT_ALIASES, MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH, MAX_DOCUMENT_NODES } from './document.js';
export { jsonDepth, yamlShape } from './depth.js';
export type { YamlShape } from './depth.js';
export { zodToInvalidArgument, fieldPath } from './zod-errors.js';
export type { NodeSelector } from './selector.js';
export {
  LABEL_KEY,
  LABEL_KEY_WORDS,
  LABEL_VALUE,
  MAX_SELECTOR_ENTRIES,
  MAX_SELECTOR_VALUES,
  NODE_NAME_LABEL,
  VERSION,
  versionSegments,
  compareVersions,
} from './selector.js';
