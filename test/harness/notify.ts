/**
 * A notify socket the test owns, standing in for systemd's: test/harness/notify-listener.py binds
 * a unix datagram socket (a path, or an abstract "@name") and prints each datagram it receives with
 * its sender's pid and the time it arrived.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Test } from 'tap';
import { ROOT, tempDir, which } from './cluster.js';

export interface NotifyMessage {
  /** The sender's pid as the kernel passed it (SCM_CREDENTIALS). */
  pid: number | null;
  msg: string;
  /** Arrival, ms since the listener started (its monotonic clock). */
  atMs: number;
}

export interface NotifyListener {
  /** The value for NOTIFY_SOCKET. */
  socket: string;
  readonly messages: NotifyMessage[];
  /**
   * Resolves once `count` datagrams holding the line `msg` have arrived (a datagram may hold several
   * lines: systemd-notify --pid= sends MAINPID= with each); rejects after timeoutMs, with all received.
   */
  waitFor(msg: string, count?: number, timeoutMs?: number): Promise<NotifyMessage[]>;
  /** The datagrams holding the line `msg` so far. */
  count(msg: string): number;
}

export async function startNotifyListener(t: Test, opts: { abstract?: boolean } = {}): Promise<NotifyListener> {
  const python = which('python3');
  if (!python) throw new Error('python3 is not on PATH');
  const socket = opts.abstract ? `@gantry-test-notify-${process.pid}-${Math.random().toString(36).slice(2)}` : path.join(tempDir(t, 'gantry-notify-'), 'notify.sock');
  const proc = spawn(python, [path.join(ROOT, 'test', 'harness', 'notify-listener.py'), socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void proc.kill('SIGKILL'));
  const messages: NotifyMessage[] = [];
  const waiters = new Set<() => void>();
  let partial = '';
  let resolveListening: () => void;
  const listening = new Promise<void>((r) => (resolveListening = r));
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const j = JSON.parse(line) as { listening?: boolean; pid?: number | null; msg?: string; t?: number };
      if (j.listening) resolveListening();
      else messages.push({ pid: j.pid ?? null, msg: j.msg ?? '', atMs: j.t ?? 0 });
    }
    for (const w of [...waiters]) w();
  });
  await Promise.race([listening, new Promise((_, reject) => proc.once('exit', (c) => reject(new Error(`notify-listener.py exited (${c}) before binding ${socket}`))))]);
  const has = (m: NotifyMessage, msg: string): boolean => m.msg.split('\n').includes(msg);
  const count = (msg: string): number => messages.filter((m) => has(m, msg)).length;
  return {
    socket,
    messages,
    count,
    waitFor(msg, n = 1, timeoutMs = 30_000) {
      const done = (): NotifyMessage[] | undefined => (count(msg) >= n ? messages.filter((m) => has(m, msg)) : undefined);
      const now = done();
      if (now) return Promise.resolve(now);
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const d = done();
          if (!d) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(d);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${n} × ${msg} not received within ${timeoutMs} ms; received: ${JSON.stringify(messages.map((m) => m.msg))}`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
  };
}
