/**
 * `gantry events`: replays the scheduler's events from the GANTRY_EVENTS JetStream stream (an
 * ordered consumer, nothing stored on the server), optionally filtered to one job or one node and
 * starting at a time; --follow keeps tailing until SIGINT/SIGTERM.
 */
import { faultText } from './job-format.js';
import { AckPolicy, connect, consumerOpts, DeliverPolicy, type ConnectionOptions, type JetStreamSubscription, type NatsConnection } from 'nats';
import { z } from 'zod';
import { EVENTS_STREAM, EVENTS_SUBJECT_ALL, jobEventSubject, nodeEventSubject, type GantryEvent } from '../events/index.js';
import { parseDurationSeconds } from '../jobspec/index.js';
import { natsClientShape, natsConnectionOptions } from '../natsconn/index.js';
import { ConfigError, InvalidArgumentError } from '../errors/index.js';
import { printable } from './printable.js';
import { EXIT_FAILURE, EXIT_USAGE, parseFlags, type Command } from './command.js';

const USAGE = `usage: gantry events [--follow] [--since TIME] [--job ID | --node NAME] [--json] [--nats-url URL]
                     [--nats-user USER --nats-pass PASS | --nats-token TOKEN | --nats-nkey FILE | --nats-creds FILE]
                     [--nats-ca FILE]

Prints the scheduler's events (stream ${EVENTS_STREAM}), oldest first, one line each:
time, kind, job/node/domain, type, message or details. Exits after the last stored event.

  -f, --follow      keep printing new events until interrupted (SIGINT/SIGTERM)
  --since TIME      start at an RFC 3339 time (2026-01-02T15:04:05Z) or this long ago (90s, 10m, 2h, 1d)
  --job ID          only this job's events
  --node NAME       only this node's events
  --json            print each event as its JSON (one object a line)
  --nats-url URL    NATS servers, comma-separated (env GANTRY_NATS_URL; default nats://127.0.0.1:4222)
  --nats-user, --nats-pass, --nats-token   credentials (env GANTRY_NATS_USER, GANTRY_NATS_PASS, GANTRY_NATS_TOKEN)
  --nats-nkey FILE  an nkey seed file, e.g. events.nk from gantry nats-auth (env GANTRY_NATS_NKEY_SEED_FILE)
  --nats-creds FILE a .creds file (operator mode); --nats-ca FILE a CA for TLS
`;

/** --since: an RFC 3339 time, or a duration before now (pure: now is given). Returns epoch ms. */
export function parseSince(value: string, nowMs: number): number {
  const v = value.trim();
  if (/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$/.test(v)) {
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) throw new InvalidArgumentError('--since', `${JSON.stringify(value)} is not a valid time`);
    return ms;
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(v)) throw new InvalidArgumentError('--since', `${JSON.stringify(value)} is not an RFC 3339 time (e.g. 2026-01-02T15:04:05Z, with a zone)`);
  try {
    return nowMs - parseDurationSeconds(v, '--since') * 1000;
  } catch {
    throw new InvalidArgumentError('--since', `${JSON.stringify(value)} is neither an RFC 3339 time (2026-01-02T15:04:05Z) nor a duration (90s, 10m, 2h, 1d)`);
  }
}

/** The subject to read: one job's, one node's, or every event. */
export function eventsFilterSubject(opts: { job?: string; node?: string }): string {
  if (opts.job !== undefined) return jobEventSubject(opts.job);
  if (opts.node !== undefined) return nodeEventSubject(opts.node);
  return EVENTS_SUBJECT_ALL;
}

/** One line for an event: time, kind, subject name, type, message / details. */
export function formatEvent(e: GantryEvent): string {
  const cols = (name: string, type: string, details: string): string => `${e.at}  ${e.kind.padEnd(6)} ${printable(name)}  ${printable(type)}${details ? `  ${printable(details)}` : ''}\n`;
  switch (e.kind) {
    case 'job': {
      const extra = [`attempt ${e.attempt}`, e.nodes && e.nodes.length > 0 ? `nodes ${e.nodes.join(',')}` : ''].filter(Boolean).join(', ');
      // A fault names the XID and rank first; the message is the job's after it.
      const fault = e.type === 'fault' && e.fault ? `${faultText(e.fault)}; ` : '';
      return cols(e.job, e.type, `${fault}${e.message}${e.message ? ' ' : ''}(${extra})`);
    }
    case 'node':
      switch (e.type) {
        case 'registered':
          return cols(e.node, e.type, `${e.gpuCount} GPUs, agent ${e.agentVersion}`);
        case 'lost':
          return cols(e.node, e.type, `last seen ${e.lastSeen}`);
        case 'back':
          return cols(e.node, e.type, `after ${(e.downForMs / 1000).toFixed(1)}s`);
        case 'health':
          return cols(e.node, e.type, `${e.health}${e.checks.length > 0 ? `: ${e.checks.join(', ')}` : ''}`);
        case 'schedulability':
          return cols(e.node, e.type, `${e.schedulability}${e.reason ? `: ${e.reason}` : ''}`);
        case 'excluded':
          return cols(e.node, e.type, e.reason);
        case 'diagnostic':
          return cols(e.node, e.type, `${e.result} (try ${e.tries}${e.command ? `, ${e.command}` : ''})${e.summary ? `: ${e.summary}` : ''}${e.todo ? `; ${e.todo}` : ''}`);
        case 'returned':
          return cols(e.node, e.type, `after ${e.after}`);
        case 'connectivity':
          return cols(e.node, e.type, e.connectivity);
        case 'incident': {
          const left = e.leftovers.map((p) => `pid ${p.pid}${p.user ? ` (${p.user})` : ''} on GPU ${p.gpu}`).join(', ');
          return cols(e.node, e.type, `${e.source}${e.jobId ? ` after ${e.jobId}` : ''}: ${e.reason}${left ? `; left: ${left}` : ''}`);
        }
        case 'breaker':
          return cols(e.node, e.type, `held back ${e.action} (${e.wanted}): ${e.why}`);
        case 'hardware':
          return cols(e.node, e.type, `${e.check}: ${e.evidence || 'resolved'}`);
        default:
          return cols((e as { node: string }).node, (e as { type: string }).type, '');
      }
    case 'domain':
      return cols(`${e.level}/${e.domain}`, e.type, `p99 ${e.p99Ms.toFixed(2)}ms, siblings ${e.siblingsP99Ms.toFixed(2)}ms`);
    case 'audit': {
      // Who (as verified), what on what, and how it ended: "alice (token) CancelJob j-1: ...".
      const who = `${e.actor.name || '(unverified)'} (${e.actor.kind === 'anonymous' && e.actor.via !== 'none' ? `bad ${e.actor.via}` : e.actor.via})`;
      return cols(e.action, e.type, `${who}${e.target ? ` ${e.target}` : ''}${e.permission ? ` [${e.permission}]` : ''}: ${e.message}${e.peer ? ` from ${e.peer}` : ''}`);
    }
    default:
      return `${JSON.stringify(e)}\n`;
  }
}

/** NATS client options from flags, else the daemons' environment variables. */
function connectionOptions(values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): ConnectionOptions {
  const s = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const raw = {
    servers: s('nats-url') ?? env.GANTRY_NATS_URL ?? 'nats://127.0.0.1:4222',
    user: s('nats-user') ?? env.GANTRY_NATS_USER ?? '',
    pass: s('nats-pass') ?? env.GANTRY_NATS_PASS ?? '',
    token: s('nats-token') ?? env.GANTRY_NATS_TOKEN ?? '',
    nkeySeedFile: s('nats-nkey') ?? env.GANTRY_NATS_NKEY_SEED_FILE ?? '',
    credsFile: s('nats-creds') ?? '',
    tls: { caFile: s('nats-ca') ?? '' },
  };
  const r = z.strictObject(natsClientShape).safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const key = issue.path[0] === 'servers' ? '--nats-url' : `--nats-${String(issue.path[0])}`;
    throw new InvalidArgumentError(key, issue.message);
  }
  return natsConnectionOptions(r.data, 'gantry-events', 'nats');
}

export const eventsCommand: Command = {
  name: 'events',
  summary: "the scheduler's events from NATS (GANTRY_EVENTS); --follow keeps tailing",
  async run(argv, io) {
    const values = parseFlags('events', argv, {
          follow: { type: 'boolean', short: 'f' },
          since: { type: 'string' },
          job: { type: 'string' },
          node: { type: 'string' },
          json: { type: 'boolean' },
          'nats-url': { type: 'string' },
          'nats-user': { type: 'string' },
          'nats-pass': { type: 'string' },
          'nats-token': { type: 'string' },
          'nats-nkey': { type: 'string' },
          'nats-creds': { type: 'string' },
          'nats-ca': { type: 'string' },
        }, USAGE, io);
    if (typeof values === 'number') return values;
    let copts: ConnectionOptions;
    let startMs: number | undefined;
    const job = values.job as string | undefined;
    const node = values.node as string | undefined;
    try {
      if (job !== undefined && node !== undefined) throw new InvalidArgumentError('--job', 'choose --job or --node, not both');
      if (job === '') throw new InvalidArgumentError('--job', 'must not be empty');
      if (node === '') throw new InvalidArgumentError('--node', 'must not be empty');
      if (values.since !== undefined) startMs = parseSince(values.since as string, Date.now());
      copts = connectionOptions(values, io.env);
    } catch (e) {
      if (e instanceof InvalidArgumentError || e instanceof ConfigError) {
        io.stderr(`gantry events: ${e.message}\n`);
        return EXIT_USAGE;
      }
      throw e;
    }
    const servers = ([] as string[]).concat(copts.servers ?? []).join(',');

    let nc: NatsConnection;
    try {
      nc = await connect({ ...copts, timeout: 5000, maxReconnectAttempts: values.follow ? -1 : 0, reconnectTimeWait: 1000 });
    } catch (e) {
      io.stderr(`gantry events: cannot reach NATS at ${servers} (${(e as Error).message})\n`);
      return EXIT_FAILURE;
    }
    let sub: JetStreamSubscription | undefined;
    let stopped = false;
    const onSignal = (): void => {
      stopped = true;
      sub?.unsubscribe();
      void nc.close();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const filter = eventsFilterSubject({ job, node });
    const startTime = startMs !== undefined ? new Date(startMs).toISOString() : undefined;
    try {
      if (!values.follow) {
        // How many events there are to print: an ephemeral consumer's num_pending (then deleted).
        const jsm = await nc.jetstreamManager();
        const ci = await jsm.consumers.add(EVENTS_STREAM, {
          filter_subject: filter,
          ack_policy: AckPolicy.None,
          inactive_threshold: 30_000_000_000,
          ...(startTime ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: startTime } : { deliver_policy: DeliverPolicy.All }),
        });
        await jsm.consumers.delete(EVENTS_STREAM, ci.name).catch(() => undefined);
        if (ci.num_pending === 0) return 0;
      }
      if (stopped) return 0;
      // An ordered push consumer (no state on the server; works with nats-server 2.9 and later).
      const o = consumerOpts();
      o.orderedConsumer();
      if (startTime) o.startTime(new Date(startTime));
      else o.deliverAll();
      sub = await nc.jetstream().subscribe(filter, o);
      for await (const m of sub) {
        const text = m.string();
        if (values.json) io.stdout(`${text}\n`);
        else {
          try {
            io.stdout(formatEvent(JSON.parse(text) as GantryEvent));
          } catch {
            io.stdout(`${m.subject}  (not JSON) ${text}\n`);
          }
        }
        if (!values.follow && m.info.pending === 0) break;
      }
      return 0;
    } catch (e) {
      const msg = (e as Error).message;
      if (stopped) return 0;
      if (/stream not found|no stream matches/i.test(msg)) io.stderr(`gantry events: no stream ${EVENTS_STREAM} on ${servers} (the scheduler creates it when it publishes its first event with nats.enabled)\n`);
      else io.stderr(`gantry events: ${msg} (NATS ${servers})\n`);
      return EXIT_FAILURE;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (!nc.isClosed()) await nc.close().catch(() => undefined);
    }
  },
};
