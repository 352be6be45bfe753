export {
  verdictToPb,
  verdictFromPb,
  inventoryToPb,
  inventoryFromPb,
  nodeToPb,
  nodeFromPb,
  severityFromPb,
  connectivityToPb,
  connectivityFromPb,
  schedulabilityFromPb,
  jobToPb,
  jobViewFromPb,
  taskStatusFromPb,
  taskStatusToPb,
} from './convert.js';
export type { JobView, TaskStatusView } from './convert.js';
