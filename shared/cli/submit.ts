import { printable } from './printable.js';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseJobSpec } from '../jobspec/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { jobViewFromPb } from '../wire/index.js';
import { EXIT_FAILURE, EXIT_USAGE, type Command } from './command.js';
import { runClientCommand } from './client.js';

/** How long `gantry submit` keeps asking while the schedulers' leader changes (--failover-wait-s), in seconds: a lease TTL of 10 s and then some. */
export const FAILOVER_WAIT_S = 30;

export const submitCommand: Command = {
  name: 'submit',
  summary: 'submit a job spec (YAML or JSON); --wait follows it until all ranks run',
  run: (argv, io) =>
    runClientCommand(
      'submit',
      argv,
      io,
      {
        options: { wait: { type: 'boolean' }, json: { type: 'boolean' }, 'timeout-s': { type: 'string', default: '600' }, owner: { type: 'string' }, 'request-id': { type: 'string' }, 'failover-wait-s': { type: 'string', default: String(FAILOVER_WAIT_S) } },
        positionals: 1,
        usage: `JOB.yaml [--wait] [--json] [--owner NAME (submit for another: needs jobs.submitAs)] [--request-id ID (idempotency key; default: a random UUID per invocation)] [--failover-wait-s N (how long to keep asking while the leader changes; default ${FAILOVER_WAIT_S})]`,
      },
      async ({ scheduler, values, positionals }) => {
        const failoverWaitS = Number(values['failover-wait-s']);
        if (!Number.isFinite(failoverWaitS) || failoverWaitS < 0 || failoverWaitS > 3600) {
          io.stderr(`gantry submit: --failover-wait-s must be a number of seconds from 0 to 3600, got ${printable(String(values['failover-wait-s']))}\n`);
          return EXIT_USAGE;
        }
        const failoverWaitMs = failoverWaitS * 1000;
        const file = path.resolve(io.cwd, positionals[0]!);
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch (e) {
          io.stderr(`gantry submit: cannot read ${file}: ${(e as Error).message}\n`);
          return EXIT_USAGE;
        }
        // Validate here too, so a bad file fails fast with the same field names the API would give.
        try {
          parseJobSpec(text);
        } catch (e) {
          if (e instanceof InvalidArgumentError) {
            io.stderr(`gantry submit: ${positionals[0]}: ${printable(e.message)}\n`);
            return EXIT_USAGE;
          }
          throw e;
        }
        // The owner is whoever the scheduler verified the caller to be; naming another needs jobs.submitAs.
        const owner = (values.owner as string | undefined) ?? '';
        // One idempotency key for this invocation: every retry below (another address, the leader a
        // standby names, a new leader after a failover) sends the same one, so a submit the old
        // leader committed before it died is answered with that job, not made twice.
        const requestId = (values['request-id'] as string | undefined) ?? randomUUID();
        let job = jobViewFromPb(await scheduler.callAcrossFailover('SubmitJob', { spec: text, owner, requestId }, failoverWaitMs));
        if (!values.wait) {
          io.stdout(values.json ? JSON.stringify(job, null, 2) + '\n' : `submitted ${job.id}\n`);
          return 0;
        }
        io.stderr(`submitted ${job.id}\n`);
        const deadline = Date.now() + Number(values['timeout-s']) * 1000;
        let last = '';
        for (;;) {
          job = jobViewFromPb(await scheduler.callAcrossFailover('GetJob', { id: job.id }, failoverWaitMs));
          const line = `${job.id}: ${job.state}${job.message ? ` — ${job.message}` : ''}`;
          if (line !== last) io.stderr(line + '\n');
          last = line;
          if (job.state === 'running' || job.state === 'succeeded') break;
          if (job.state === 'failed' || job.state === 'cancelled' || job.state === 'timeout') {
            if (values.json) io.stdout(JSON.stringify(job, null, 2) + '\n');
            return EXIT_FAILURE;
          }
          if (Date.now() > deadline) {
            io.stderr(`gantry submit: ${job.id} is still ${job.state} after ${values['timeout-s']} s\n`);
            return EXIT_FAILURE;
          }
          await new Promise((r) => setTimeout(r, 200));
        }
        io.stdout(values.json ? JSON.stringify(job, null, 2) + '\n' : `${job.id} ${job.state}: ${job.ranks.length} ranks on ${new Set(job.ranks.map((r) => r.node)).size} nodes\n`);
        return 0;
      },
    ),
};
