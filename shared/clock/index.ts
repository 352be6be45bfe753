/** The only way daemons read time; pure modules receive times as arguments instead. */
export interface Clock {
  nowMs(): number;
}
export const systemClock: Clock = { nowMs: () => Date.now() };
