/**
 * prepare(): the agent moving into its own leaf before controllers are enabled in `<base>` (pure
 * v2's no-internal-processes rule). Testable here only in part: this host's v2 hierarchy holds no
 * memory/pids/cpuset controller, so the test claims a pure-v2 layout with memory on v2 and an agent
 * (a sleep standing in for it) sitting in a test cgroup: the move is real, and the refused
 * `+memory` shows as an error naming the cgroup.subtree_control file. Nothing is written outside
 * the test cgroup.
 */
import t from 'tap';
import { mkdirSync, readFileSync } from 'node:fs';
import { detectHostLayout, FsCgroupManager, type DetectedLayout } from '../../../../agent/runner/cgroup/index.js';
import { removeTree, startInLeaves, uniqueTestRoot, waitFor } from './helpers.js';

const host = await detectHostLayout();
const v2Mount = host.layout.v2Mount;
const memoryOnV2 = /\bmemory\b/.test(v2Mount ? readFileSync(`${v2Mount}/cgroup.controllers`, 'utf8') : '');

t.test('the agent moves into <base>/agent first; then the controllers are enabled in <base>', { skip: process.getuid?.() === 0 && v2Mount ? false : 'needs root and a v2 hierarchy' }, async (t) => {
  const own = uniqueTestRoot();
  const ownDir = `${v2Mount}${own}`;
  t.teardown(() => removeTree(ownDir));
  mkdirSync(ownDir);
  const agent = startInLeaves([ownDir], 'exec sleep 30');
  t.teardown(() => void agent.child.kill('SIGKILL'));
  await waitFor(() => /^Name:\s+sleep$/m.test(readFileSync(`/proc/${agent.pid}/status`, 'utf8')), 3000, 'the stand-in agent in its cgroup');
  const detected: DetectedLayout = {
    layout: { kind: 'v2', v2Mount: v2Mount ?? '', v1Mounts: {}, enforced: { kill: 'v2', devices: null, memory: 'v2', pids: null, cpuset: null, cpuUsage: 'v2' } },
    own: { v2: own, v1: {} },
  };
  const m = new FsCgroupManager({ detected });
  t.same([m.plan.agentLeaf, m.plan.enable, m.plan.enableIn], [`${own}/agent`, ['memory'], [own]]);
  const prepared = m.prepare(agent.pid);
  if (memoryOnV2) {
    await prepared;
    t.match(readFileSync(`${ownDir}/cgroup.subtree_control`, 'utf8'), /memory/, 'memory enabled in <base>');
  } else {
    await t.rejects(prepared, { code: 'FAILED_PRECONDITION', message: new RegExp(`${ownDir}/cgroup.subtree_control`) }, 'this host: +memory refused, the error names the file');
  }
  t.same(readFileSync(`${ownDir}/cgroup.procs`, 'utf8').trim(), '', '<base> holds no process');
  t.equal(readFileSync(`${ownDir}/agent/cgroup.procs`, 'utf8').trim(), String(agent.pid), 'the agent is in <base>/agent');
});
