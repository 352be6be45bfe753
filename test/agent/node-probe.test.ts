/**
 * NodeProber (agent/node-probe.ts) in-process: the XID window. XIDs of the fail class stay judged
 * for as long as the agent runs; every other XID only while it is younger than the window; kmsg
 * records are dated from their boot-relative time, so a ring buffer read at start does not bring
 * back old application XIDs as new. The kernel-log lines are the real ones of the shared capture.
 */
import path from 'node:path';
import t from 'tap';
import { NodeProber, DEFAULT_XID_WINDOW_MS } from '../../agent/node-probe.js';
import { type KernelLogReader } from '../../agent/collectors/index.js';
import { parseXidLine, type XidEvent } from '../../agent/core/index.js';
import { createHealthEvaluator, DEFAULT_HEALTH_CONFIG, XID_CHECK } from '../../agent/health/index.js';
import { DERIVED, FIXTURES, realXidLine } from './sim.js';

const REAL_DMESG = path.join(FIXTURES, 'gpud', 'dmesg-with-xid-119.log');
const DERIVED_DMESG = path.join(DERIVED, 'dmesg-xid-classes.txt');

/** A dmesg line as a /dev/kmsg record written `usSinceBoot` after boot. */
function kmsg(line: string, usSinceBoot: number, seq: number): string {
  return `3,${seq},${usSinceBoot},-;${line.replace(/^\[[^\]]*\]\s*/, '')}`;
}

function xid(line: string): XidEvent {
  const e = parseXidLine(line);
  if (!e) throw new Error(`not an XID line: ${line}`);
  return e;
}

function harness(opts: { uptimeS: number; windowMs?: number }) {
  let now = 1_800_000_000_000;
  const queue: XidEvent[][] = [];
  const kernelLog: KernelLogReader = {
    path: 'test',
    poll: async () => queue.shift() ?? [],
    close: async () => undefined,
  };
  const prober = new NodeProber({
    nodeName: 'n1',
    gpu: undefined,
    host: undefined,
    infinibandRoot: undefined,
    kernelLog,
    evaluator: createHealthEvaluator(),
    topology: {},
    clock: { nowMs: () => now },
    stickyXids: DEFAULT_HEALTH_CONFIG.xid.failGpu,
    ...(opts.windowMs !== undefined ? { xidWindowMs: opts.windowMs } : {}),
    uptimeSeconds: () => opts.uptimeS + (now - 1_800_000_000_000) / 1000,
  });
  return {
    prober,
    push: (events: XidEvent[]) => queue.push(events),
    advance: (ms: number) => (now += ms),
  };
}

const line79 = realXidLine(DERIVED_DMESG, 79);
const line999 = realXidLine(DERIVED_DMESG, 999);
const line13 = realXidLine(DERIVED_DMESG, 13);
const line119 = realXidLine(REAL_DMESG, 119);

t.test('a fail-class XID stays; a warn-class XID leaves after the window', async (t) => {
  const h = harness({ uptimeS: 3600 });
  h.push([xid(line79), xid(line999)]);
  let s = await h.prober.collect();
  t.match(s.verdicts, [{ check: XID_CHECK, severity: 'fail', evidence: /Xid 79/ }, { check: XID_CHECK, severity: 'warn', evidence: /Xid 999/ }], 'both judged');
  t.equal(s.newXids.length, 2, 'two new XIDs this cycle');

  h.advance(DEFAULT_XID_WINDOW_MS - 1000);
  s = await h.prober.collect();
  t.equal(s.verdicts.length, 2, 'both still judged inside the window');
  t.equal(s.newXids.length, 0, 'nothing new');

  h.advance(2000);
  s = await h.prober.collect();
  t.match(s.verdicts, [{ check: XID_CHECK, severity: 'fail', evidence: /Xid 79/ }], 'XID 79 stays');
  t.equal(s.verdicts.length, 1, 'XID 999 left with the window');

  h.advance(24 * 3600_000);
  s = await h.prober.collect();
  t.equal(s.verdicts.length, 1, 'XID 79 still judged a day later (the GPU needs a reset or a reboot)');
});

t.test('kmsg records are dated from boot: old application XIDs in the ring buffer are not new', async (t) => {
  const h = harness({ uptimeS: 3 * 3600 });
  // Read at agent start: XID 13 written 1 h after boot (2 h ago), XID 119 at the same time, XID 13 again 1 min ago.
  const hourUs = 3600 * 1e6;
  h.push([xid(kmsg(line13, hourUs, 1)), xid(kmsg(line119, hourUs, 2)), xid(kmsg(line13.replace('pid=31337', 'pid=4242'), 3 * hourUs - 60e6, 3))]);
  const s = await h.prober.collect();
  t.match(s.verdicts, [{ check: XID_CHECK, severity: 'fail', evidence: /Xid 119/ }], 'the 2-hour-old XID 119 is judged (fail class)');
  t.equal(s.verdicts.length, 1, 'only that node verdict');
  t.equal(s.jobFindings.length, 1, 'one job finding');
  t.equal(s.jobFindings[0]?.pid, 4242, 'the recent XID 13, not the 2-hour-old one');
  t.equal(s.xids.length, 2, 'judged: XID 119 and the recent XID 13');
  t.equal(s.newXids.length, 3, 'all three were read (and are counted on /metrics)');
});

t.test('a flood of application XIDs does not push out a fail-class XID', async (t) => {
  const h = harness({ uptimeS: 60, windowMs: 60_000 });
  h.push([xid(line79)]);
  await h.prober.collect();
  h.push(Array.from({ length: 1500 }, () => xid(line13)));
  const s = await h.prober.collect();
  t.ok(s.verdicts.some((v) => v.severity === 'fail' && /Xid 79/.test(v.evidence)), 'XID 79 still judged');
  t.ok(s.xids.length <= 1001, `judged list stays bounded (${s.xids.length})`);
});

t.test('repeats of a fail-class XID on one GPU are kept once', async (t) => {
  const h = harness({ uptimeS: 60 });
  h.push([xid(line119), xid(line119), xid(line119)]);
  const s = await h.prober.collect();
  t.equal(s.xids.length, 1, 'one judged event');
  t.equal(s.newXids.length, 3, 'three read');
});
