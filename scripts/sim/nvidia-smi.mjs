#!/usr/bin/env node
/*
 * Stand-in nvidia-smi for machines without GPUs. It serves real captures so the agent's real code
 * path (spawn, timeout, parse) runs. Plain JavaScript; no TypeScript build needed. Run through
 * scripts/sim/nvidia-smi, a bash front that serves a repeated call from a cache without starting Node
 * (see there); run directly, it computes every answer. About 510 lines, over the usual 400: one
 * stand-in for every nvidia-smi invocation the agent makes, so its modes stay side by side.
 *
 * Environment:
 *   GANTRY_SIM_NVIDIA_XML     path of an `nvidia-smi -q -x` capture (required for -q -x, -L)
 *   GANTRY_SIM_NVIDIA_TOPO    path of an `nvidia-smi topo -m` text (optional; without it topo -m fails
 *                             the way it does on a driver that cannot report it, exit 3)
 *   GANTRY_SIM_NVIDIA_NVLINK  path of an `nvidia-smi nvlink -s` text (optional)
 *   GANTRY_SIM_NODE           node name: rewrites each GPU's <uuid> and <serial> deterministically from
 *                             sha256(node + "/" + gpu index), so every simulated node has its own GPUs
 *   GANTRY_SIM_CLUSTER_UUID   replaces a non-zero <clusterUuid> (to model several NVL racks)
 *   GANTRY_SIM_CLIQUE_ID      replaces <cliqueId> where the capture has a number
 *   GANTRY_SIM_MODE           ok (default) | hang | garbage | stderr | exit15
 *   GANTRY_SIM_MODE_FILE      path whose trimmed content, when the file exists and is not empty,
 *                             overrides GANTRY_SIM_MODE at each call (switch modes on a running agent)
 *   GANTRY_SIM_DELAY_MS       sleep this long before answering (ok mode)
 *   GANTRY_SIM_COMPUTE_APPS   path of an nvidia_gpu_exporter capture (fixtures/nvidia_gpu_exporter) whose
 *                             real `query-compute-apps` section answers --query-compute-apps; unset: no
 *                             compute processes (the header alone, as an idle driver prints it)
 *   GANTRY_SIM_COMPUTE_APPS_STATE  which of its sections: idle (default: no processes) | load (the
 *                             capture's memhog and gpu_burn processes)
 *   GANTRY_SIM_COMPUTE_APPS_STATE_FILE  path whose trimmed content, when not empty, overrides the state
 *                             at each call (switch on a running agent)
 *   GANTRY_SIM_COMPUTE_APPS_PIDS  comma-separated pids put in place of the capture's, row by row (a test
 *                             points the rows at processes of its own, so their owners can be read);
 *                             the capture's GPU UUIDs are always replaced by the served GPUs' (by position)
 *   GANTRY_SIM_QUERY_REFUSE   comma-separated --query-gpu fields to refuse the way a driver that does
 *                             not know them does (`Field "x" is not a valid field to query.`, exit 2),
 *                             e.g. clocks_event_reasons_counters.* to model a driver before 590
 *
 * --query-gpu=<fields> --format=csv[,noheader][,nounits] is answered from the same capture: each
 * requested field is read out of the GPU's XML elements (the table QUERY_FIELDS below), in the order
 * asked, so the values stay real; N/A becomes [N/A], "GPU is lost" [GPU is lost] and so on, the way
 * nvidia-smi prints them. A field outside the table is refused like an unknown field.
 *
 * Modes:
 *   hang     never answers (and starts a child that also sleeps, as a wedged driver call would),
 *            so the caller's timeout and process-group kill are exercised
 *   garbage  prints truncated, garbled XML and exits 0
 *   stderr   prints an NVML error on stderr, nothing on stdout, exits 0
 *   exit15   prints "Unable to determine the device handle for GPU<bus id>: GPU is lost..." and exits 15
 *            (for -q -x and --query-gpu alike)
 */
(async () => {
  const fs = await import('node:fs');
  const crypto = await import('node:crypto');
  const cp = await import('node:child_process');

  const env = process.env;
  const args = process.argv.slice(2);

  const readMode = () => {
    const file = env.GANTRY_SIM_MODE_FILE;
    if (file) {
      try {
        const m = fs.readFileSync(file, 'utf8').trim();
        if (m) return m;
      } catch {
        /* no file: fall back to GANTRY_SIM_MODE */
      }
    }
    return (env.GANTRY_SIM_MODE || 'ok').trim();
  };

  // GANTRY_SIM_CACHE_OUT (set by the bash front): where to keep this call's answer for the next
  // identical call. Only a plain answer is kept: ok mode, no delay, exit 0, nothing on stderr.
  const cacheOut = env.GANTRY_SIM_CACHE_OUT;
  const answer = [];
  let cacheable = Boolean(cacheOut);
  const out = (s) => {
    if (cacheable) answer.push(s);
    return new Promise((resolve) => process.stdout.write(s, () => resolve()));
  };
  const err = (s) => {
    cacheable = false;
    return new Promise((resolve) => process.stderr.write(s, () => resolve()));
  };
  const finish = async (code) => {
    process.exitCode = code;
    if (!cacheable || code !== 0) return;
    const tmp = `${cacheOut}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(tmp, answer.join(''));
      fs.renameSync(tmp, cacheOut);
    } catch {
      // no cache this time: the answer itself was given
      fs.rmSync(tmp, { force: true });
    }
  };

  const readCapture = (name) => {
    const path = env[name];
    if (!path) return null;
    try {
      return fs.readFileSync(path, 'utf8');
    } catch (e) {
      return { error: `${name}=${path}: ${e.message}` };
    }
  };

  const hash = (s) => crypto.createHash('sha256').update(s).digest('hex');
  const uuidFor = (node, i) => {
    const h = hash(`${node}/${i}`);
    return `GPU-${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  };
  const serialFor = (node, i) => {
    const h = hash(`serial:${node}/${i}`);
    return (BigInt(`0x${h.slice(0, 15)}`) % 10n ** 13n).toString().padStart(13, '0');
  };

  /** Rewrite per-GPU identities inside each <gpu ...> ... </gpu> block. */
  const personalise = (xml) => {
    const node = env.GANTRY_SIM_NODE;
    const cluster = env.GANTRY_SIM_CLUSTER_UUID;
    const clique = env.GANTRY_SIM_CLIQUE_ID;
    if (!node && !cluster && !clique) return xml;
    let index = 0;
    return xml.replace(/(<gpu\b[^>]*>)([\s\S]*?)(<\/gpu>)/g, (_m, open, body, close) => {
      const i = index++;
      let b = body;
      if (node) {
        b = b.replace(/<uuid>[^<]*<\/uuid>/, `<uuid>${uuidFor(node, i)}</uuid>`);
        b = b.replace(/<serial>([^<]*)<\/serial>/, (m, v) => (/^\d+$/.test(v.trim()) ? `<serial>${serialFor(node, i)}</serial>` : m));
      }
      if (cluster) {
        b = b.replace(/<clusterUuid>([^<]*)<\/clusterUuid>/, (m, v) =>
          /^[0-9a-f-]+$/i.test(v.trim()) && !/^[0-]+$/.test(v.trim()) ? `<clusterUuid>${cluster}</clusterUuid>` : m,
        );
      }
      if (clique) {
        b = b.replace(/<cliqueId>(\d+)<\/cliqueId>/, `<cliqueId>${clique}</cliqueId>`);
      }
      return `${open}${b}${close}`;
    });
  };

  // ------------------------------------------------------------ --query-gpu from the XML
  /** Text of the element at a slash path inside `body` (nested elements searched in turn), or null. */
  const el = (body, path) => {
    let cur = body;
    for (const name of path.split('/')) {
      const m = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`).exec(cur);
      if (!m) return null;
      cur = m[1];
    }
    return cur.trim();
  };
  /** First element present among paths (absent elements skipped; N/A counts as present). */
  const first = (body, ...paths) => {
    for (const p of paths) {
      const v = el(body, p);
      if (v !== null && !/^</.test(v)) return v;
    }
    return null;
  };
  const bad = (v) => v === null || /^(n\/a|not supported|unknown error|gpu is lost|insufficient permissions)$/i.test(v.trim());
  /** Sum of the numeric elements present (null when none); an error text wins, as nvidia-smi shows it. */
  const sum = (body, ...paths) => {
    let total = null;
    for (const p of paths) {
      const v = el(body, p);
      if (v === null || /^</.test(v)) continue;
      if (/gpu is lost|unknown error/i.test(v)) return v;
      const n = Number.parseFloat(v);
      if (Number.isFinite(n)) total = (total ?? 0) + n;
    }
    return total === null ? null : String(total);
  };
  const reason = (name) => (g) => first(g.xml, `clocks_event_reasons/clocks_event_reason_${name}`, `clocks_throttle_reasons/clocks_throttle_reason_${name}`);
  const counter = (name) => (g) =>
    first(g.xml, `clocks_event_reasons_counters/clocks_event_reasons_counters_${name}`, `clocks_throttle_reasons_counters/clocks_throttle_reasons_counters_${name}`);
  const ecc = (kind, side) => (g) => {
    const base = `ecc_errors/${side}`;
    return kind === 'corrected'
      ? sum(g.xml, `${base}/dram_correctable`, `${base}/sram_correctable`, `${base}/single_bit/total`)
      : sum(g.xml, `${base}/dram_uncorrectable`, `${base}/sram_uncorrectable`, `${base}/sram_uncorrectable_parity`, `${base}/sram_uncorrectable_secded`, `${base}/double_bit/total`);
  };
  /** Remapped rows: the block may read N/A (or GPU is lost) as a whole. */
  const remap = (name) => (g) => {
    const block = el(g.xml, 'remapped_rows');
    if (block === null) return null;
    if (!/^</.test(block)) return block;
    return el(block, name);
  };
  /** field -> [reader of the GPU's XML, unit printed without nounits]. */
  const QUERY_FIELDS = {
    index: [(g) => String(g.index), ''],
    uuid: [(g) => el(g.xml, 'uuid'), ''],
    'pci.bus_id': [(g) => el(g.xml, 'pci/pci_bus_id') ?? (/<gpu id="([^"]+)"/.exec(g.xml) || [])[1] ?? null, ''],
    name: [(g) => el(g.xml, 'product_name'), ''],
    serial: [(g) => el(g.xml, 'serial'), ''],
    // nvidia-smi prints temperatures as bare numbers, even without nounits.
    'temperature.gpu': [(g) => el(g.xml, 'temperature/gpu_temp'), '', true],
    'temperature.memory': [(g) => el(g.xml, 'temperature/memory_temp'), '', true],
    'power.draw': [(g) => first(g.xml, 'gpu_power_readings/power_draw', 'gpu_power_readings/average_power_draw', 'power_readings/power_draw', 'gpu_power_readings/instant_power_draw'), 'W'],
    'power.draw.instant': [(g) => first(g.xml, 'gpu_power_readings/instant_power_draw'), 'W'],
    'power.limit': [(g) => first(g.xml, 'gpu_power_readings/current_power_limit', 'gpu_power_readings/power_limit', 'power_readings/power_limit'), 'W'],
    'enforced.power.limit': [(g) => first(g.xml, 'gpu_power_readings/enforced_power_limit', 'power_readings/enforced_power_limit', 'gpu_power_readings/current_power_limit'), 'W'],
    'utilization.gpu': [(g) => el(g.xml, 'utilization/gpu_util'), '%'],
    'utilization.memory': [(g) => el(g.xml, 'utilization/memory_util'), '%'],
    'memory.used': [(g) => el(g.xml, 'fb_memory_usage/used'), 'MiB'],
    'memory.total': [(g) => el(g.xml, 'fb_memory_usage/total'), 'MiB'],
    'memory.free': [(g) => el(g.xml, 'fb_memory_usage/free'), 'MiB'],
    pstate: [(g) => el(g.xml, 'performance_state'), ''],
    'ecc.mode.current': [(g) => el(g.xml, 'ecc_mode/current_ecc'), ''],
    'ecc.errors.corrected.volatile.total': [ecc('corrected', 'volatile'), ''],
    'ecc.errors.uncorrected.volatile.total': [ecc('uncorrected', 'volatile'), ''],
    'ecc.errors.corrected.aggregate.total': [ecc('corrected', 'aggregate'), ''],
    'ecc.errors.uncorrected.aggregate.total': [ecc('uncorrected', 'aggregate'), ''],
    'retired_pages.single_bit_ecc.count': [(g) => el(g.xml, 'retired_pages/multiple_single_bit_retirement/retired_count'), ''],
    'retired_pages.double_bit.count': [(g) => el(g.xml, 'retired_pages/double_bit_retirement/retired_count'), ''],
    'retired_pages.pending': [(g) => first(g.xml, 'retired_pages/pending_retirement', 'retired_pages/pending_blacklist'), ''],
    'remapped_rows.correctable': [remap('remapped_row_corr'), ''],
    'remapped_rows.uncorrectable': [remap('remapped_row_unc'), ''],
    'remapped_rows.pending': [remap('remapped_row_pending'), ''],
    'remapped_rows.failure': [remap('remapped_row_failure'), ''],
    'pcie.link.gen.current': [(g) => el(g.xml, 'pci/pci_gpu_link_info/pcie_gen/current_link_gen'), ''],
    'pcie.link.gen.max': [(g) => el(g.xml, 'pci/pci_gpu_link_info/pcie_gen/max_link_gen'), ''],
    'pcie.link.width.current': [(g) => el(g.xml, 'pci/pci_gpu_link_info/link_widths/current_link_width'), ''],
    'pcie.link.width.max': [(g) => el(g.xml, 'pci/pci_gpu_link_info/link_widths/max_link_width'), ''],
    // The readings only /metrics exports (agent/core/nvidia/parse-metric-readings.ts), with their aliases.
    'clocks.current.sm': [(g) => el(g.xml, 'clocks/sm_clock'), 'MHz'],
    'clocks.current.memory': [(g) => el(g.xml, 'clocks/mem_clock'), 'MHz'],
    'utilization.encoder': [(g) => el(g.xml, 'utilization/encoder_util'), '%'],
    'utilization.decoder': [(g) => el(g.xml, 'utilization/decoder_util'), '%'],
    'memory.reserved': [(g) => el(g.xml, 'fb_memory_usage/reserved'), 'MiB'],
  };
  QUERY_FIELDS['clocks.sm'] = QUERY_FIELDS['clocks.current.sm'];
  QUERY_FIELDS['clocks.mem'] = QUERY_FIELDS['clocks.current.memory'];
  for (const r of ['gpu_idle', 'applications_clocks_setting', 'sw_power_cap', 'hw_slowdown', 'hw_thermal_slowdown', 'hw_power_brake_slowdown', 'sync_boost', 'sw_thermal_slowdown']) {
    QUERY_FIELDS[`clocks_event_reasons.${r}`] = [reason(r), ''];
    QUERY_FIELDS[`clocks_throttle_reasons.${r}`] = [reason(r), ''];
  }
  for (const [field, tag] of [
    ['sw_power_cap', 'sw_power_cap'],
    ['sync_boost', 'sync_boost'],
    ['sw_thermal_slowdown', 'sw_therm_slowdown'],
    ['hw_thermal_slowdown', 'hw_therm_slowdown'],
    ['hw_power_brake_slowdown', 'hw_power_brake'],
  ]) {
    QUERY_FIELDS[`clocks_event_reasons_counters.${field}`] = [counter(tag), 'us'];
  }
  /** One CSV cell the way nvidia-smi prints it: [N/A] and friends bracketed, units per `units`. */
  const csvValue = ([read, unit, bare], gpu, units) => {
    const v = read(gpu);
    if (v === null || bad(v)) {
      if (v === null || /^n\/a$/i.test(v.trim())) return '[N/A]';
      return `[${v.trim().replace(/^./, (c) => c.toUpperCase())}]`;
    }
    const t = v.trim();
    const n = /^[-+]?\d+(?:\.\d+)?/.exec(t);
    if (bare) return n ? n[0] : t;
    if (!unit) return /^\d+x$/.test(t) ? t.slice(0, -1) : t; // link width "16x" is 16 in CSV
    if (!n) return t;
    return units ? `${n[0]} ${unit}` : n[0];
  };

  const noDriver = async () => {
    await out(
      "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n\n",
    );
    await finish(9);
  };

  const mode = readMode();
  if (mode !== 'ok') cacheable = false;

  if (mode === 'hang') {
    // A wedged driver call: this process and a child of it sleep until killed.
    const child = cp.spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
    child.unref();
    setInterval(() => {}, 1 << 30);
    return;
  }

  if (mode === 'stderr') {
    await err('Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 580.105\n');
    await finish(0);
    return;
  }

  const xml = readCapture('GANTRY_SIM_NVIDIA_XML');

  if (mode === 'exit15') {
    let bus = '00000000:00:00.0';
    if (typeof xml === 'string') {
      const m = /<gpu id="([^"]+)"/.exec(xml);
      if (m) bus = m[1];
    }
    await out(`Unable to determine the device handle for GPU${bus}: GPU is lost.  Reboot the system to recover this GPU\n`);
    await finish(15);
    return;
  }

  if (mode === 'garbage') {
    const body = typeof xml === 'string' ? xml : '<?xml version="1.0" ?>\n<nvidia_smi_log>\n\t<gpu id="00000000:01:00.0">\n\t\t<uuid>GPU-';
    const cut = body.slice(0, Math.max(40, Math.floor(body.length * 0.4)));
    await out(`${cut}\u0000\u0007<<<garbled\n<fb_memory_usage><total>80 </gpu></nvidia_smi_log\n`);
    await finish(0);
    return;
  }

  if (mode !== 'ok') {
    await err(`stand-in nvidia-smi: unknown GANTRY_SIM_MODE ${JSON.stringify(mode)}\n`);
    await finish(2);
    return;
  }

  const delay = Number(env.GANTRY_SIM_DELAY_MS || 0);
  if (delay > 0) {
    cacheable = false;
    await new Promise((r) => setTimeout(r, delay));
  }

  const has = (...names) => names.some((n) => args.includes(n));
  const sub = args[0];

  if (sub === 'topo') {
    if (!has('-m', '--matrix')) {
      await err('stand-in nvidia-smi: only "topo -m" is served\n');
      await finish(2);
      return;
    }
    const topo = readCapture('GANTRY_SIM_NVIDIA_TOPO');
    if (topo === null) {
      await out('Topology: Not Supported (stand-in: GANTRY_SIM_NVIDIA_TOPO is not set)\n');
      await finish(3);
      return;
    }
    if (typeof topo !== 'string') {
      await err(`${topo.error}\n`);
      await finish(2);
      return;
    }
    await out(topo);
    await finish(0);
    return;
  }

  if (sub === 'nvlink') {
    const nv = readCapture('GANTRY_SIM_NVIDIA_NVLINK');
    if (nv === null || typeof nv !== 'string') {
      await out('Device does not have or support Nvlink\n');
      await finish(0);
      return;
    }
    await out(nv);
    await finish(0);
    return;
  }

  const queryGpu = args.find((a) => a.startsWith('--query-gpu='));
  if (queryGpu !== undefined) {
    if (xml === null) return noDriver();
    if (typeof xml !== 'string') {
      await err(`${xml.error}\n`);
      await finish(9);
      return;
    }
    const fields = queryGpu.slice('--query-gpu='.length).split(',').map((f) => f.trim()).filter(Boolean);
    const format = (args.find((a) => a.startsWith('--format=')) || '').slice('--format='.length).split(',');
    if (!format.includes('csv')) {
      await out('"--format=" switch is missing. Please specify the format.\n');
      await finish(2);
      return;
    }
    const refuse = new Set((env.GANTRY_SIM_QUERY_REFUSE || '').split(',').map((f) => f.trim()).filter(Boolean));
    for (const f of fields) {
      if (!QUERY_FIELDS[f] || refuse.has(f) || [...refuse].some((r) => r.endsWith('*') && f.startsWith(r.slice(0, -1)))) {
        await out(`Field "${f}" is not a valid field to query.\n\n`);
        await finish(2);
        return;
      }
    }
    const units = !format.includes('nounits');
    const lines = [];
    if (!format.includes('noheader')) lines.push(fields.map((f) => (units && QUERY_FIELDS[f][1] ? `${f} [${QUERY_FIELDS[f][1]}]` : f)).join(', '));
    const doc = personalise(xml);
    const re = /<gpu\b[^>]*>[\s\S]*?<\/gpu>/g;
    let m;
    let index = 0;
    while ((m = re.exec(doc))) {
      // A MIG GPU lists its instances' own memory etc. first: read the GPU's, as nvidia-smi does.
      const gpu = { xml: m[0].replace(/<mig_devices>[\s\S]*?<\/mig_devices>/, ''), index: index++ };
      lines.push(fields.map((f) => csvValue(QUERY_FIELDS[f], gpu, units)).join(', '));
    }
    await out(`${lines.join('\n')}\n`);
    await finish(0);
    return;
  }

  const queryApps = args.find((a) => a.startsWith('--query-compute-apps='));
  if (queryApps !== undefined) {
    if (xml === null) return noDriver();
    if (typeof xml !== 'string') {
      await err(`${xml.error}\n`);
      await finish(9);
      return;
    }
    if (env.GANTRY_SIM_COMPUTE_APPS_STATE_FILE) cacheable = false; // the state may be switched between calls
    const fields = queryApps.slice('--query-compute-apps='.length).split(',').map((f) => f.trim()).filter(Boolean);
    const format = (args.find((a) => a.startsWith('--format=')) || '').slice('--format='.length).split(',');
    if (!format.includes('csv')) {
      await out('"--format=" switch is missing. Please specify the format.\n');
      await finish(2);
      return;
    }
    const APP_FIELDS = ['timestamp', 'gpu_name', 'gpu_bus_id', 'gpu_serial', 'gpu_uuid', 'pid', 'process_name', 'used_gpu_memory', 'used_memory'];
    for (const f of fields) {
      if (!APP_FIELDS.includes(f)) {
        await out(`Field "${f}" is not a valid field to query.\n\n`);
        await finish(2);
        return;
      }
    }
    let state = (env.GANTRY_SIM_COMPUTE_APPS_STATE || 'idle').trim();
    if (env.GANTRY_SIM_COMPUTE_APPS_STATE_FILE) {
      try {
        state = fs.readFileSync(env.GANTRY_SIM_COMPUTE_APPS_STATE_FILE, 'utf8').trim() || state;
      } catch {
        /* no file: the variable's state */
      }
    }
    /** header name -> cell, per row of the capture's section; the capture's GPUs' UUIDs in order. */
    let rows = [];
    let captureUuids = [];
    if (env.GANTRY_SIM_COMPUTE_APPS) {
      const cap = fs.readFileSync(env.GANTRY_SIM_COMPUTE_APPS, 'utf8');
      const section = (title) => {
        const at = cap.indexOf(`# ${state} :: ${title}`);
        if (at < 0) return null;
        const body = cap.slice(at).split('\n').slice(3); // title, command, rule
        const end = body.findIndex((l) => l.trim() === '');
        return body.slice(0, end < 0 ? body.length : end);
      };
      const csv = (lines) => {
        if (!lines || lines.length === 0) return [];
        const names = lines[0].split(', ').map((h) => h.replace(/ \[.*\]$/, ''));
        return lines.slice(1).map((r) => new Map(r.split(', ').map((c, i) => [names[i], c])));
      };
      const apps = section('query-compute-apps (per-process)');
      if (apps === null) {
        await err(`stand-in nvidia-smi: no "${state} :: query-compute-apps" section in ${env.GANTRY_SIM_COMPUTE_APPS}\n`);
        await finish(2);
        return;
      }
      rows = csv(apps);
      captureUuids = csv(section('query-gpu (csv, what the exporter parses)')).map((r) => r.get('uuid'));
    }
    const servedUuids = [...personalise(xml).matchAll(/<gpu\b[^>]*>[\s\S]*?<uuid>([^<]*)<\/uuid>/g)].map((m) => m[1]);
    const pids = (env.GANTRY_SIM_COMPUTE_APPS_PIDS || '').split(',').map((p) => p.trim()).filter(Boolean);
    const units = !format.includes('nounits');
    const lines = [];
    if (!format.includes('noheader')) lines.push(fields.map((f) => (f.startsWith('used_') ? `used_gpu_memory${units ? ' [MiB]' : ''}` : f)).join(', '));
    rows.forEach((r, i) => {
      const at = captureUuids.indexOf(r.get('gpu_uuid'));
      const uuid = servedUuids[at < 0 ? 0 : at] ?? r.get('gpu_uuid');
      lines.push(
        fields
          .map((f) => {
            if (f === 'gpu_uuid') return uuid;
            if (f === 'pid') return pids[i] ?? r.get('pid');
            if (f.startsWith('used_')) {
              const v = r.get('used_gpu_memory') ?? '[N/A]';
              return units ? v : v.replace(/ MiB$/, '');
            }
            return r.get(f) ?? '[N/A]';
          })
          .join(', '),
      );
    });
    await out(lines.length ? `${lines.join('\n')}\n` : '');
    await finish(0);
    return;
  }

  const query = has('-q', '--query');
  const asXml = has('-x', '--xml-format');
  const list = has('-L', '--list-gpus');

  if (has('--version')) {
    const v = typeof xml === 'string' ? /<driver_version>([^<]*)</.exec(xml) : null;
    await out(`NVIDIA-SMI version  : stand-in\nDRIVER version      : ${v ? v[1] : 'unknown'}\n`);
    await finish(0);
    return;
  }

  if ((query && asXml) || list) {
    if (xml === null) return noDriver();
    if (typeof xml !== 'string') {
      await err(`${xml.error}\n`);
      await finish(9);
      return;
    }
    const doc = personalise(xml);
    if (list) {
      const lines = [];
      const re = /<gpu\b[^>]*>[\s\S]*?<product_name>([^<]*)<\/product_name>[\s\S]*?<uuid>([^<]*)<\/uuid>/g;
      let m;
      let i = 0;
      while ((m = re.exec(doc))) lines.push(`GPU ${i++}: ${m[1]} (UUID: ${m[2]})`);
      await out(`${lines.join('\n')}\n`);
    } else {
      await out(doc);
    }
    await finish(0);
    return;
  }

  await err(`stand-in nvidia-smi: unsupported arguments: ${args.join(' ')} (serves -q -x, --query-gpu, --query-compute-apps, -L, topo -m, nvlink -s, --version)\n`);
  await finish(2);
})().catch((e) => {
  process.stderr.write(`stand-in nvidia-smi: ${e && e.stack ? e.stack : e}\n`);
  process.exitCode = 1;
});
