export { freePort, portIsFree, waitForPort, startChild, packageRoot, gantryEntry, processesMentioning } from './procs.js';
export type { Child } from './procs.js';
