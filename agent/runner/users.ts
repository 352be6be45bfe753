/** Resolving the user a rank runs as: `getent passwd`, falling back to /etc/passwd. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** One passwd line (`name:x:uid:gid:gecos:home:shell`); undefined when malformed. Pure. */
export function parsePasswdLine(line: string): PasswdEntry | undefined {
  const f = line.trim().split(':');
  if (f.length < 7) return undefined;
  const [name, , uidS, gidS, , home, shell] = f;
  const uid = Number(uidS);
  const gid = Number(gidS);
  if (!name || !Number.isInteger(uid) || uid < 0 || !Number.isInteger(gid) || gid < 0 || uidS === '' || gidS === '') return undefined;
  return { name, uid, gid, home: home ?? '/', shell: shell ?? '' };
}

function getent(name: string): Promise<PasswdEntry | undefined | 'unavailable'> {
  return new Promise((resolve) => {
    execFile('getent', ['passwd', name], { timeout: 5000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }, (err, stdout) => {
      if (err) {
        // getent exits 2 when the key is not found; anything else (not installed, timeout): read the file.
        return resolve((err as { code?: unknown }).code === 2 ? undefined : 'unavailable');
      }
      const e = parsePasswdLine(stdout.split('\n')[0] ?? '');
      resolve(e && e.name === name ? e : undefined);
    });
  });
}

/** The passwd entry of a user name, or undefined when there is no such user. */
export async function lookupUser(name: string, passwdFile = '/etc/passwd'): Promise<PasswdEntry | undefined> {
  const viaGetent = await getent(name);
  if (viaGetent !== 'unavailable') return viaGetent;
  let text: string;
  try {
    text = await readFile(passwdFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const e = parsePasswdLine(line);
    if (e && e.name === name) return e;
  }
  return undefined;
}
