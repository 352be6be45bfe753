/**
 * The telemetry benchmark's load: a separate process publishing latency windows into NATS as fast as
 * it can, or paced. Usage: node dist/bench/telemetry-publisher.js <nats url> <count> <rate/s, 0 = flat out>.
 * Prints one JSON line: {sent, seconds}.
 */
import { connect } from 'nats';
import { performance } from 'node:perf_hooks';
import { benchWindows } from './telemetry-windows.js';

const [url, countText, rateText] = process.argv.slice(2);
const count = Number(countText);
const rate = Number(rateText ?? 0);
const { subjects, payloads } = benchWindows();
const nc = await connect({ servers: url });
const t0 = performance.now();
let sent = 0;
const batch = 1000;
while (sent < count) {
  const n = Math.min(batch, count - sent);
  for (let i = 0; i < n; i++, sent++) {
    const k = sent % subjects.length;
    nc.publish(subjects[k] as string, payloads[k] as Uint8Array);
  }
  if (rate > 0) {
    // Paced: wait until the schedule catches up with what has been sent.
    const due = t0 + (sent / rate) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  } else if (sent % 20_000 === 0) await nc.flush();
}
await nc.flush();
const seconds = (performance.now() - t0) / 1000;
await nc.close();
process.stdout.write(`${JSON.stringify({ sent, seconds })}\n`);
