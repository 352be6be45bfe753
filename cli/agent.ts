import { systemClock } from '../shared/clock/index.js';
import { runUntilSignalled } from '../shared/lifecycle/index.js';
import { createLogger } from '../shared/log/index.js';
import { serviceNotifier } from '../shared/sdnotify/index.js';
import { createAgent, probeOnce } from '../agent/main.js';
import { agentConfigSchema, agentEnv, agentFlags } from '../agent/config.js';
import { EXIT_USAGE, type CliIO, type Command } from '../shared/cli/command.js';
import { verdictActionSuffix } from '../shared/cli/verdict-text.js';
import { configFromArgs, configUsage, isUsageError } from './config-args.js';

async function inventory(argv: string[], io: CliIO): Promise<number> {
  const json = argv.includes('--json');
  const rest = argv.filter((a) => a !== '--json');
  const { config, help } = configFromArgs(rest, io, agentConfigSchema, agentFlags, agentEnv);
  if (help) {
    io.stdout(configUsage('agent inventory [--json]', agentFlags, agentEnv));
    return 0;
  }
  const s = await probeOnce(config, systemClock, io.env.PATH);
  const failed = s.runs.filter((r) => r.error);
  const doc = {
    node: { name: config.nodeName || s.inventory.host.hostname, ...s.inventory.host },
    gpus: s.inventory.gpus,
    firmware: {
      driver: s.inventory.firmware.driverVersion,
      cuda: s.inventory.firmware.cudaVersion,
      ...s.inventory.firmware,
      hcas: s.inventory.hcas.map((h) => ({ name: h.name, firmwareVersion: h.firmwareVersion })),
    },
    topology: s.inventory.topology,
    hcas: s.inventory.hcas,
    health: s.verdicts.map((v) => ({ ...v, firstSeen: new Date(v.firstSeenMs).toISOString() })),
    /** Application XIDs: recorded against the job on that GPU, not the node's health. */
    jobFindings: s.jobFindings.map((f) => ({ ...f, firstSeen: new Date(f.firstSeenMs).toISOString() })),
    collectors: s.runs,
  };
  if (json) {
    io.stdout(JSON.stringify(doc, null, 2) + '\n');
    for (const r of failed) io.stderr(`collector ${r.collector} failed: ${r.error}\n`);
  } else {
    const h = s.inventory.host;
    io.stdout(`node      ${doc.node.name}  (${h.os} ${h.kernel}, ${h.cpuModel}, ${h.cpuCores} cores, ${(h.memoryBytes / 2 ** 30).toFixed(1)} GiB)\n`);
    io.stdout(`firmware  driver ${s.inventory.firmware.driverVersion || '-'}  cuda ${s.inventory.firmware.cudaVersion || '-'}  bios ${h.biosVersion || '-'}\n`);
    for (const g of s.inventory.gpus) {
      io.stdout(`gpu ${String(g.index).padEnd(3)} ${g.name.padEnd(28)} ${g.uuid}  ${g.pciBusId}  ${(g.memoryMiB / 1024).toFixed(0)} GiB  numa ${g.numaNode}${g.nvlinkDomain ? '  nvlink ' + g.nvlinkDomain : ''}\n`);
    }
    for (const hca of s.inventory.hcas) {
      io.stdout(`hca       ${hca.name} ${hca.hcaType} fw ${hca.firmwareVersion} ${hca.ports.map((p) => `port ${p.port} ${p.state} ${p.rateGbps} Gb/s`).join(', ')}\n`);
    }
    for (const v of s.verdicts) io.stdout(`health    ${v.severity.padEnd(4)} ${v.check}${v.gpu !== undefined ? ` gpu ${v.gpu}` : ''}${verdictActionSuffix(v)}: ${v.evidence}\n`);
    if (s.verdicts.length === 0) io.stdout('health    ok\n');
    for (const f of s.jobFindings) io.stdout(`job       ${f.check}${f.gpu !== undefined ? ` gpu ${f.gpu}` : ''}: ${f.evidence}\n`);
    for (const r of failed) io.stderr(`collector ${r.collector} failed: ${r.error}\n`);
  }
  return failed.length > 0 ? 1 : 0;
}

export const agentCommand: Command = {
  name: 'agent',
  summary: 'run the node agent daemon (or: gantry agent inventory [--json])',
  async run(argv, io) {
    if (argv[0] === 'inventory') {
      try {
        return await inventory(argv.slice(1), io);
      } catch (e) {
        if (!isUsageError(e)) throw e;
        io.stderr(`gantry agent inventory: ${e.message}\n`);
        return EXIT_USAGE;
      }
    }
    let parsed;
    try {
      parsed = configFromArgs(argv, io, agentConfigSchema, agentFlags, agentEnv);
    } catch (e) {
      if (!isUsageError(e)) throw e;
      io.stderr(`gantry agent: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if (parsed.help) {
      io.stdout(configUsage('agent', agentFlags, agentEnv) + '\nsubcommands:\n  inventory [--json]     probe once, print, exit (non-zero if a collector failed)\n');
      return 0;
    }
    if (parsed.positionals.length > 0) {
      io.stderr(`gantry agent: unexpected argument ${JSON.stringify(parsed.positionals[0])}\n`);
      return EXIT_USAGE;
    }
    const config = parsed.config;
    const log = createLogger({ name: 'gantry-agent', level: config.log.level, format: config.log.format, isTty: process.stderr.isTTY });
    // systemd (Type=notify): READY=1 after the first report (registered, or its delivery failed and
    // the agent retries), WATCHDOG=1 from the event loop, STOPPING=1 at SIGTERM (ranks keep running).
    const notify = serviceNotifier(io.env, { log });
    notify.startWatchdog();
    const daemon = createAgent(config, { log, clock: systemClock, envPath: io.env.PATH, onReady: (status) => notify.ready(status) });
    try {
      const code = await runUntilSignalled(
        daemon,
        (e) => log.error({ err: e }, 'error while stopping'),
        (e) => log.error({ err: e }, 'error while reloading'),
        { onStopping: () => notify.stopping('stopping; ranks keep running and the next start adopts them') },
      );
      notify.close();
      return code;
    } catch (e) {
      notify.close();
      await daemon.stop().catch(() => undefined);
      if (isUsageError(e)) {
        io.stderr(`gantry agent: ${e.message}\n`);
        return EXIT_USAGE;
      }
      log.fatal({ err: e }, 'agent failed to start');
      return 1;
    }
  },
};
