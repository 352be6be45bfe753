/**
 * The agent's memory of the highest HA term it has seen (agent/core/term.ts judges), kept in
 * runner.stateDir/scheduler-term.json so that a restarted agent still refuses a deposed leader.
 * Written synchronously and atomically (temp file, fsync, rename) before the message that raised it
 * is acted on; it changes only when the leader does.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../shared/log/index.js';
import { judgeTerm } from './core/index.js';

export const TERM_FILE = 'scheduler-term.json';

/** What carries a term: the registration's answer, and the two commands that change ranks. */
export type TermedMessage = 'registered' | 'start-task' | 'stop-task';

export interface TermFence {
  /** The highest nonzero term seen (0: none yet). */
  readonly highest: number;
  /** true: act on the message (and remember its term); false: a deposed leader's, counted and logged. */
  admit(term: number, message: TermedMessage, detail?: Record<string, unknown>): boolean;
}

/** The stored term, or 0 when there is none or it cannot be read (reported through onBad). */
export function loadTerm(stateDir: string, onBad: (why: string) => void): number {
  const file = path.join(stateDir, TERM_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') onBad(`${file}: ${(e as Error).message}`);
    return 0;
  }
  try {
    const v = (JSON.parse(text) as { term?: unknown }).term;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
    onBad(`${file}: not a term`);
  } catch (e) {
    onBad(`${file}: ${(e as Error).message}`);
  }
  return 0;
}

function storeTerm(stateDir: string, term: number): void {
  fs.mkdirSync(stateDir, { recursive: true });
  const file = path.join(stateDir, TERM_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fd = fs.openSync(tmp, 'w', 0o644);
    try {
      fs.writeSync(fd, JSON.stringify({ term }) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // nothing was left
    }
    throw e;
  }
}

export function createTermFence(opts: { stateDir: string; counter: { inc(labels: { message: TermedMessage }): void }; log: Logger }): TermFence {
  const { stateDir, counter, log } = opts;
  let highest = loadTerm(stateDir, (why) => log.warn({ why }, 'ignoring the stored scheduler term'));
  return {
    get highest() {
      return highest;
    },
    admit(term, message, detail) {
      const j = judgeTerm(highest, term);
      if (!j.accept) {
        counter.inc({ message });
        log.warn({ ...detail, message, term, highest }, `refused a ${message} of term ${term}: this agent has seen term ${highest} (a deposed leader)`);
        return false;
      }
      if (j.highest !== highest) {
        try {
          storeTerm(stateDir, j.highest);
        } catch (e) {
          // Still followed: the term is kept in memory; only a restart forgets it.
          log.error({ err: (e as Error).message, term: j.highest }, 'cannot store the scheduler term');
        }
        log.info({ term: j.highest, was: highest }, `following scheduler term ${j.highest}`);
        highest = j.highest;
      }
      return true;
    },
  };
}
