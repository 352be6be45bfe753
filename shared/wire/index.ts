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
  serviceSloToPb,
  serviceSloFromPb,
} from './convert.js';
export type { JobView, TaskStatusView, ServiceSloView } from './convert.js';
