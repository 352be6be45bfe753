export { ClusterModel } from './cluster.js';
export type { Registration, ReportUpdate, Transition } from './cluster.js';
