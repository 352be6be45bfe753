export { freePort, portIsFree, waitForPort, startChild, packageRoot, gantryEntry } from './procs.js';
export type { Child } from './procs.js';
