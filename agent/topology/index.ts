export { nearestHcas } from './nearest-hcas.js';
