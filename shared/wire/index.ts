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
} from './convert.js';
