/**
 * The CLI's connection settings (shared/cli/connection.ts), table-driven: flags over environment
 * over the selected context over the defaults; address lists; the certificate/key and token pairs;
 * plaintext against TLS settings; paths; and errors that name the flag, variable or file key.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configFilePath, parseCliConfig, resolveConnection, type ConnectionFlags, type ConnectionInput, type ConnectionSettings } from '../../../shared/cli/connection.js';
import { ConfigError, InvalidArgumentError } from '../../../shared/errors/index.js';
import { ROOT } from '../../harness/cluster.js';

const HOME = '/home/alice';
const CWD = '/work';
const FILE = '/home/alice/.config/gantry/config.yaml';

const CONFIG = `
current-context: prod
contexts:
  prod:
    schedulers: [sched-a:7070, sched-b:7070]
    ca: /etc/gantry/ca.pem
    cert: ~/.gantry/alice.pem
    key: keys/alice-key.pem
    serverName: gantry-scheduler
  dev: {schedulers: ['127.0.0.1:7070'], insecure: true}
  sso: {schedulers: [sso:7070], ca: ca.pem, tokenFile: ~/.gantry/token}
  bare: {}
`;

function input(flags: ConnectionFlags = {}, env: Record<string, string> = {}, text: string | null = null): ConnectionInput {
  return { flags, env, file: { path: FILE, text }, home: HOME, cwd: CWD };
}

/** The settings that matter to a case, in a compact form. */
function brief(s: ConnectionSettings): Brief {
  return {
    addresses: s.addresses.join(','),
    from: s.addressesFrom,
    insecure: s.insecure,
    ca: s.ca ? `${s.ca.path} <${s.ca.from}>` : null,
    cert: s.cert ? `${s.cert.path} <${s.cert.from}>` : null,
    key: s.key ? `${s.key.path} <${s.key.from}>` : null,
    token: s.token === null ? null : 'file' in s.token ? `file ${s.token.file.path} <${s.token.file.from}>` : `${s.token.value} <${s.token.from}>`,
    serverName: s.serverName,
    context: s.context,
  };
}

type Brief = { addresses: string; from: string; insecure: boolean; ca: string | null; cert: string | null; key: string | null; token: string | null; serverName: string; context: string | null };
const DEFAULTS: Brief = { addresses: '127.0.0.1:7070', from: 'the default', insecure: false, ca: null, cert: null, key: null, token: null, serverName: '', context: null };

t.test('precedence: flags > environment > context > defaults', async (t) => {
  const cases: Array<[string, ConnectionInput, Partial<Brief>]> = [
    ['nothing at all: TLS to the default address, system CAs, no credential', input(), {}],
    ['an empty config file is no config', input({}, {}, ''), {}],
    ['a file without current-context selects nothing', input({}, {}, 'contexts:\n  a: {schedulers: [x:1]}\n'), {}],
    [
      'the current context',
      input({}, {}, CONFIG),
      {
        addresses: 'sched-a:7070,sched-b:7070',
        from: 'contexts.prod.schedulers',
        ca: '/etc/gantry/ca.pem <contexts.prod.ca>',
        cert: '/home/alice/.gantry/alice.pem <contexts.prod.cert>',
        key: '/home/alice/.config/gantry/keys/alice-key.pem <contexts.prod.key>',
        serverName: 'gantry-scheduler',
        context: 'prod',
      },
    ],
    [
      'GANTRY_CONTEXT picks another context; its relative paths resolve against the file',
      input({}, { GANTRY_CONTEXT: 'sso' }, CONFIG),
      { addresses: 'sso:7070', from: 'contexts.sso.schedulers', ca: '/home/alice/.config/gantry/ca.pem <contexts.sso.ca>', token: 'file /home/alice/.gantry/token <contexts.sso.tokenFile>', context: 'sso' },
    ],
    ['--context beats GANTRY_CONTEXT', input({ context: 'dev' }, { GANTRY_CONTEXT: 'sso' }, CONFIG), { addresses: '127.0.0.1:7070', from: 'contexts.dev.schedulers', insecure: true, context: 'dev' }],
    [
      'environment beats the context, field by field',
      input({}, { GANTRY_SCHEDULER_ADDRESS: 'env-a:1, env-b:2', GANTRY_CA: 'my-ca.pem' }, CONFIG),
      {
        addresses: 'env-a:1,env-b:2',
        from: 'GANTRY_SCHEDULER_ADDRESS',
        ca: '/work/my-ca.pem <GANTRY_CA>',
        cert: '/home/alice/.gantry/alice.pem <contexts.prod.cert>',
        key: '/home/alice/.config/gantry/keys/alice-key.pem <contexts.prod.key>',
        serverName: 'gantry-scheduler',
        context: 'prod',
      },
    ],
    [
      'flags beat the environment',
      input({ scheduler: 'flag:9', ca: '~/ca.pem', cert: 'c.pem', key: '/abs/k.pem', 'server-name': 'sn' }, { GANTRY_SCHEDULER_ADDRESS: 'env:1', GANTRY_CA: 'x', GANTRY_CERT: 'y', GANTRY_KEY: 'z', GANTRY_SERVER_NAME: 'e' }),
      { addresses: 'flag:9', from: '--scheduler', ca: '/home/alice/ca.pem <--ca>', cert: '/work/c.pem <--cert>', key: '/abs/k.pem <--key>', serverName: 'sn' },
    ],
    [
      'a certificate and its key come from one layer: the flags\' pair hides the context\'s',
      input({ cert: 'f.pem', key: 'f-key.pem' }, {}, CONFIG),
      { addresses: 'sched-a:7070,sched-b:7070', from: 'contexts.prod.schedulers', ca: '/etc/gantry/ca.pem <contexts.prod.ca>', cert: '/work/f.pem <--cert>', key: '/work/f-key.pem <--key>', serverName: 'gantry-scheduler', context: 'prod' },
    ],
    ['GANTRY_TOKEN', input({}, { GANTRY_TOKEN: 'ey.J.x' }), { token: 'ey.J.x <GANTRY_TOKEN>' }],
    ['--token-file beats GANTRY_TOKEN', input({ 'token-file': 'tok' }, { GANTRY_TOKEN: 'ey.J.x' }), { token: 'file /work/tok <--token-file>' }],
    ['GANTRY_TOKEN_FILE beats the context\'s tokenFile', input({}, { GANTRY_CONTEXT: 'sso', GANTRY_TOKEN_FILE: '/t' }, CONFIG), { addresses: 'sso:7070', from: 'contexts.sso.schedulers', ca: '/home/alice/.config/gantry/ca.pem <contexts.sso.ca>', token: 'file /t <GANTRY_TOKEN_FILE>', context: 'sso' }],
    ['GANTRY_INSECURE=1', input({}, { GANTRY_INSECURE: '1' }), { insecure: true }],
    ['GANTRY_INSECURE=0 overrides a context\'s insecure: true', input({ context: 'dev' }, { GANTRY_INSECURE: '0' }, CONFIG), { addresses: '127.0.0.1:7070', from: 'contexts.dev.schedulers', context: 'dev' }],
    ['an empty variable counts as unset', input({}, { GANTRY_INSECURE: '', GANTRY_SCHEDULER_ADDRESS: '', GANTRY_CONTEXT: '' }), {}],
    [
      '--insecure drops the TLS settings of a lower layer (the context\'s), keeps its token',
      input({ insecure: true }, { GANTRY_CONTEXT: 'sso' }, CONFIG),
      { addresses: 'sso:7070', from: 'contexts.sso.schedulers', insecure: true, token: 'file /home/alice/.gantry/token <contexts.sso.tokenFile>', context: 'sso' },
    ],
    ['a context with nothing in it', input({ context: 'bare' }, {}, CONFIG), { context: 'bare' }],
    ['IPv6 addresses', input({ scheduler: '[::1]:7070,[fd00::2]:7071' }), { addresses: '[::1]:7070,[fd00::2]:7071', from: '--scheduler' }],
  ];
  for (const [name, inp, want] of cases) {
    t.same(brief(resolveConnection(inp)), { ...DEFAULTS, ...want }, name);
  }
});

t.test('errors name the flag, the variable or the file key', async (t) => {
  const cases: Array<[string, ConnectionInput, typeof ConfigError | typeof InvalidArgumentError, RegExp]> = [
    ['a bad address in a flag', input({ scheduler: 'a:1,nope' }), InvalidArgumentError, /^--scheduler: "nope" must be host:port/],
    ['an empty address list', input({ scheduler: ' , ' }), InvalidArgumentError, /^--scheduler: must list at least one/],
    ['a port out of range in the environment', input({}, { GANTRY_SCHEDULER_ADDRESS: 'a:70000' }), InvalidArgumentError, /^GANTRY_SCHEDULER_ADDRESS: "a:70000" must be host:port/],
    ['a host-less address', input({ scheduler: ':7070' }), InvalidArgumentError, /^--scheduler: ":7070" must be host:port/],
    ['a bad address in the file', input({}, {}, 'contexts:\n  x: {schedulers: [nope]}\n'), ConfigError, /^config contexts\.x\.schedulers\.0: must be host:port/],
    ['an unknown key in a context', input({}, {}, 'contexts:\n  prod: {schedulers: [a:1], certFile: x}\n'), ConfigError, /^config contexts\.prod\.certFile: unknown key/],
    ['an unknown top-level key', input({}, {}, 'current_context: prod\n'), ConfigError, /^config current_context: unknown key/],
    ['a bad value', input({}, {}, 'contexts:\n  prod: {insecure: maybe}\n'), ConfigError, /^config contexts\.prod\.insecure: /],
    ['an empty path in the file', input({}, {}, "contexts:\n  prod: {cert: ''}\n"), ConfigError, /^config contexts\.prod\.cert: must not be empty/],
    ['not YAML', input({}, {}, 'contexts: [unclosed\n'), ConfigError, /is not valid YAML/],
    ['--context without a file', input({ context: 'prod' }), InvalidArgumentError, /^--context: no context "prod": there is no config file \/home\/alice\/\.config\/gantry\/config\.yaml/],
    ['GANTRY_CONTEXT naming nothing', input({}, { GANTRY_CONTEXT: 'qa' }, CONFIG), InvalidArgumentError, /^GANTRY_CONTEXT: no context "qa": .* has contexts prod, dev, sso, bare/],
    ['current-context naming nothing', input({}, {}, 'current-context: gone\ncontexts: {}\n'), ConfigError, /^config current-context: no context "gone"/],
    ['a certificate without its key (flags)', input({ cert: 'c.pem' }), InvalidArgumentError, /^--cert: a client certificate needs its key/],
    ['a key without its certificate (env), even with a context pair', input({}, { GANTRY_KEY: 'k.pem' }, CONFIG), InvalidArgumentError, /^GANTRY_KEY: a client certificate needs its key/],
    ['a certificate without its key (file)', input({}, {}, 'current-context: p\ncontexts:\n  p: {cert: c.pem}\n'), ConfigError, /^config contexts\.p\.cert: a client certificate needs its key/],
    ['--token and --token-file', input({ token: 'a', 'token-file': 'b' }), InvalidArgumentError, /^--token: choose --token or --token-file/],
    ['GANTRY_TOKEN and GANTRY_TOKEN_FILE', input({}, { GANTRY_TOKEN: 'a', GANTRY_TOKEN_FILE: 'b' }), InvalidArgumentError, /^GANTRY_TOKEN: set GANTRY_TOKEN or GANTRY_TOKEN_FILE/],
    ['token and tokenFile in a context', input({}, {}, 'current-context: p\ncontexts:\n  p: {token: a, tokenFile: b}\n'), ConfigError, /^config contexts\.p\.token: choose token or tokenFile/],
    ['an empty --cert', input({ cert: '', key: 'k' }), InvalidArgumentError, /^--cert: must not be empty/],
    ['GANTRY_INSECURE=maybe', input({}, { GANTRY_INSECURE: 'maybe' }), InvalidArgumentError, /^GANTRY_INSECURE: must be 1 or 0/],
    ['--insecure with --ca', input({ insecure: true, ca: 'ca.pem' }), InvalidArgumentError, /^--ca: plaintext \(--insecure\) uses no TLS/],
    ['GANTRY_INSECURE with --cert (a higher layer)', input({ cert: 'c', key: 'k' }, { GANTRY_INSECURE: '1' }), InvalidArgumentError, /^--cert: plaintext \(GANTRY_INSECURE\) uses no TLS/],
    ['a context that is insecure and has a CA', input({}, {}, 'current-context: p\ncontexts:\n  p: {insecure: true, ca: x}\n'), ConfigError, /^config contexts\.p\.ca: plaintext \(contexts\.p\.insecure\)/],
    ['a context that is insecure with a server name', input({}, {}, 'current-context: p\ncontexts:\n  p: {insecure: true, serverName: x}\n'), ConfigError, /^config contexts\.p\.serverName: plaintext/],
  ];
  for (const [name, inp, cls, re] of cases) {
    t.throws(() => resolveConnection(inp), cls, `${name}: ${cls.name}`);
    try {
      resolveConnection(inp);
    } catch (e) {
      t.match((e as Error).message, re, `${name}: names it`);
    }
  }
});

t.test('the config file path', async (t) => {
  t.equal(configFilePath({}, HOME), '/home/alice/.config/gantry/config.yaml', 'default under ~/.config');
  t.equal(configFilePath({ XDG_CONFIG_HOME: '/xdg' }, HOME), '/xdg/gantry/config.yaml', 'XDG_CONFIG_HOME');
  t.equal(configFilePath({ XDG_CONFIG_HOME: 'relative' }, HOME), '/home/alice/.config/gantry/config.yaml', 'a relative XDG_CONFIG_HOME is ignored (the XDG spec)');
  t.equal(configFilePath({ XDG_CONFIG_HOME: '/xdg', GANTRY_CONFIG_FILE: '/etc/g.yaml' }, HOME), '/etc/g.yaml', 'GANTRY_CONFIG_FILE wins');
});

t.test('the file parses to its contexts', async (t) => {
  const c = parseCliConfig(CONFIG, FILE);
  t.equal(c['current-context'], 'prod');
  t.same(Object.keys(c.contexts), ['prod', 'dev', 'sso', 'bare']);
  t.same(c.contexts.dev, { schedulers: ['127.0.0.1:7070'], insecure: true });
  t.same(parseCliConfig(null, FILE), { contexts: {} }, 'no file: no contexts');
});

t.test('verbose from -v or GANTRY_LOG_LEVEL=debug', async (t) => {
  t.equal(resolveConnection(input()).verbose, false);
  t.equal(resolveConnection(input({ verbose: true })).verbose, true);
  t.equal(resolveConnection(input({}, { GANTRY_LOG_LEVEL: 'debug' })).verbose, true);
  t.equal(resolveConnection(input({}, { GANTRY_LOG_LEVEL: 'info' })).verbose, false);
});

t.test("the README's context file is one the CLI takes", async (t) => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf("### The CLI's credentials and contexts");
  t.ok(at > 0, 'the README has the section');
  const yaml = /```yaml\n([\s\S]*?)```/.exec(readme.slice(at))![1]!;
  const c = parseCliConfig(yaml, '/home/alice/.config/gantry/config.yaml');
  t.same(Object.keys(c.contexts), ['prod', 'dev', 'sso']);
  const s = resolveConnection(input({}, {}, yaml));
  t.same(s.addresses, ['sched-a:7070', 'sched-b:7070']);
  t.equal(s.cert?.path, '/home/alice/.gantry/alice.pem');
  t.equal(resolveConnection(input({ context: 'dev' }, {}, yaml)).insecure, true);
});
