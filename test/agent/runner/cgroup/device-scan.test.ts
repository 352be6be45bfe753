/** scanDevices on the real /dev: numbers checked against stat(1) (coreutils), independently of Node. */
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { scanDevices } from '../../../../agent/runner/cgroup/device-scan.js';

/** type, major, minor as stat(1) reads them. */
function stat1(p: string): { type: string; major: number; minor: number } {
  const [kind, maj, min] = execFileSync('stat', ['-L', '-c', '%F|%t|%T', p], { encoding: 'utf8' }).trim().split('|');
  return { type: kind === 'block special file' ? 'b' : 'c', major: Number.parseInt(maj ?? '', 16), minor: Number.parseInt(min ?? '', 16) };
}

t.test('extra paths: device files found with their numbers; other files and missing paths left out', async (t) => {
  const got = await scanDevices({ extraPaths: ['/dev/null', '/dev/zero', '/etc/hostname', '/dev/no-such-device', '/dev/null'] });
  const mine = got.filter((d) => !d.path.startsWith('/dev/nvidia') && !d.path.startsWith('/dev/dri') && !d.path.startsWith('/dev/infiniband') && d.path !== '/dev/kfd');
  t.same(mine.map((d) => d.path), ['/dev/null', '/dev/zero'], 'each once, only device files');
  for (const d of mine) t.same({ type: d.type, major: d.major, minor: d.minor }, stat1(d.path), d.path);
});

t.test('a directory of extra paths, and a device directory of our own', async (t) => {
  const got = await scanDevices({ extraPaths: ['/dev/pts/*'] });
  const pts = got.filter((d) => d.path.startsWith('/dev/pts/') && d.path !== '/dev/pts/ptmx');
  for (const d of pts) t.same({ type: d.type, major: d.major, minor: d.minor }, stat1(d.path), d.path);
  const dir = t.testdir({ 'nvidia0': 'not a device', dri: { renderD128: 'not a device' } });
  t.same(await scanDevices({ devDir: dir }), [], 'regular files named like GPUs are not device files');
});
