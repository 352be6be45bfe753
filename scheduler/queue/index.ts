export { pendingOrder } from './order.js';
