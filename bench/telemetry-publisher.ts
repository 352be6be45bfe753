/**
 * The telemetry benchmark's load: a separate process publishing latency windows into NATS as fast as
 * it can, or paced. Usage:
 *   node dist/bench/telemetry-publisher.js <nats url> <count> <rate/s, 0 = flat out> <binary|json>
 * Prints one JSON line: {sent, seconds, bytes, cpuMs} (bytes: average message payload; cpuMs: its own
 * CPU time while publishing).
 *
 * It speaks the NATS client protocol itself over one TCP connection (CONNECT, then pre-built
 * `PUB <subject> <len>` frames written in large batches, then PING/PONG as the flush) rather than
 * through nats.js: the load generator has to outrun the subscriber it measures on the same 2 cores,
 * and nats.js spends a few µs of CPU per publish (the PUB line encoded per message, small buffers
 * concatenated). The server sees the same PUB frames either way.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { benchWindows } from './telemetry-windows.js';

const [url, countText, rateText, encodingText] = process.argv.slice(2);
const count = Number(countText);
const rate = Number(rateText ?? 0);
const encoding = encodingText === 'json' ? 'json' : 'binary';
const { subjects, payloads } = benchWindows(encoding);

// One cycle of frames (every node's window once) in one buffer, with each frame's offset.
const frames: Buffer[] = [];
let payloadBytes = 0;
for (let k = 0; k < subjects.length; k++) {
  const p = payloads[k] as Uint8Array;
  payloadBytes += p.length;
  frames.push(Buffer.from(`PUB ${subjects[k]} ${p.length}\r\n`), Buffer.from(p), Buffer.from('\r\n'));
}
const cycle = Buffer.concat(frames);
const offsets = new Int32Array(subjects.length + 1);
{
  let at = 0;
  for (let k = 0; k < subjects.length; k++) {
    offsets[k] = at;
    at += (frames[3 * k] as Buffer).length + (payloads[k] as Uint8Array).length + 2;
  }
  offsets[subjects.length] = at;
}

const u = new URL(url as string);
const sock = net.connect({ host: u.hostname, port: Number(u.port) });
sock.setNoDelay(true);
let inbound = '';
const pongWaiters: Array<() => void> = [];
sock.on('data', (d: Buffer) => {
  inbound += d.toString('latin1');
  let nl: number;
  while ((nl = inbound.indexOf('\r\n')) >= 0) {
    const line = inbound.slice(0, nl);
    inbound = inbound.slice(nl + 2);
    if (line === 'PING') sock.write('PONG\r\n');
    else if (line === 'PONG') pongWaiters.shift()?.();
    else if (line.startsWith('-ERR')) {
      process.stderr.write(`publisher: server says ${line}\n`);
      process.exit(1);
    }
  }
});
sock.on('error', (e) => {
  process.stderr.write(`publisher: ${e.message}\n`);
  process.exit(1);
});
const ping = (): Promise<void> =>
  new Promise<void>((r) => {
    pongWaiters.push(r);
    sock.write('PING\r\n');
  });
await new Promise<void>((r) => sock.once('connect', () => r()));
sock.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, lang: 'gantry-bench', version: '1', protocol: 1, echo: false, name: 'bench telemetry publisher' })}\r\n`);
await ping();

/** Writes windows [from, to) of the endless cycle; resolves when the socket takes more. */
function write(from: number, to: number): boolean {
  let ok = true;
  const n = subjects.length;
  while (from < to) {
    const k = from % n;
    const take = Math.min(to - from, n - k);
    ok = sock.write(cycle.subarray(offsets[k], offsets[k + take])) && ok;
    from += take;
  }
  return ok;
}
const drained = (): Promise<void> => new Promise<void>((r) => sock.once('drain', () => r()));

const t0 = performance.now();
const cpu0 = process.cpuUsage();
let sent = 0;
const batch = rate > 0 ? Math.max(1, Math.round(rate / 1000)) : subjects.length;
while (sent < count) {
  const n = Math.min(batch, count - sent);
  const ok = write(sent, sent + n);
  sent += n;
  if (!ok) await drained();
  if (rate > 0) {
    // Paced: wait until the schedule catches up with what has been sent.
    const due = t0 + (sent / rate) * 1000;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  }
}
await ping();
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
sock.end();
process.stdout.write(`${JSON.stringify({ sent, seconds, bytes: payloadBytes / subjects.length, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
