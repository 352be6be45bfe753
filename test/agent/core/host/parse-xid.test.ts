import t from 'tap';
import { parseXidLine, parseXidLog, pciBusDevice } from '../../../../agent/core/index.js';
import { read, fixture } from '../../collectors/fixtures.js';

t.test('dmesg capture with XID 119', async (t) => {
  const text = read(fixture('gpud', 'dmesg-with-xid-119.log'));
  const events = parseXidLog(text);
  const want = [...text.matchAll(/NVRM: Xid \(PCI:([^)]+)\): (\d+), pid=(\d+), name=([^,]+),/g)];
  t.equal(events.length, want.length);
  t.ok(events.length > 0);
  events.forEach((e, i) => {
    const w = want[i];
    t.equal(e.xid, Number(w?.[2]));
    t.equal(e.pci, w?.[1]);
    t.equal(e.pid, Number(w?.[3]));
    t.equal(e.processName, w?.[4]);
  });
  t.equal(events[0]?.busDevice, '9b:00');
  t.match(events[0]?.message, /Timeout after 6s of waiting for RPC response/);
  t.equal(events[0]?.timestamp, 'Sun Feb 23 16:24:18 2025');
});

t.test('kmsg record format', async (t) => {
  const e = parseXidLine('3,1934,1234567890,-;NVRM: Xid (PCI:0000:3b:00): 79, pid=\'<unknown>\', name=<unknown>, GPU has fallen off the bus.');
  t.equal(e?.xid, 79);
  t.equal(e?.seq, 1934);
  t.equal(e?.monotonicUs, 1234567890);
  t.equal(e?.busDevice, '3b:00');
  t.match(e?.message, /fallen off the bus/);
  t.equal(parseXidLine('NVRM: GPU at PCI:0000:9b:00: GPU-509665ad'), null);
  t.equal(parseXidLog(read(fixture('gpud', 'nccl.dmesg.decode.iso.log'))).length, 0, 'no XIDs in an unrelated log');
});

t.test('PCI ids match across formats', async (t) => {
  t.equal(pciBusDevice('00000000:9B:00.0'), '9b:00');
  t.equal(pciBusDevice('0000:9b:00'), '9b:00');
  t.equal(pciBusDevice('0000:0A:00.0'), '0a:00');
});
