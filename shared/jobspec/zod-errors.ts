/** Zod issues to InvalidArgumentError naming the field path (`topology.slice.size`, `nodes[3].gpus`). */
import type { z } from 'zod';
import { InvalidArgumentError } from '../errors/index.js';

export function fieldPath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out.length ? `.${String(p)}` : String(p);
  }
  return out;
}

const TYPE_WORDS: Record<string, string> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping of fields',
  array: 'a list',
  record: 'a mapping',
};

function describe(issue: z.core.$ZodIssue): { path: readonly PropertyKey[]; detail: string } {
  switch (issue.code) {
    case 'unrecognized_keys': {
      const key = issue.keys[0] ?? '';
      return { path: [...issue.path, key], detail: 'unknown field' };
    }
    case 'invalid_type':
      if (/received undefined/.test(issue.message)) return { path: issue.path, detail: 'is required' };
      return { path: issue.path, detail: `must be ${TYPE_WORDS[issue.expected] ?? issue.expected}` };
    case 'invalid_value':
      return { path: issue.path, detail: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` };
    case 'too_small': {
      const what = issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : '';
      const min = String(issue.minimum);
      return { path: issue.path, detail: what ? `needs at least ${min}${what}` : `must be at least ${min}` };
    }
    case 'too_big': {
      const what = issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : '';
      const max = String(issue.maximum);
      return { path: issue.path, detail: what ? `takes at most ${max}${what}` : `must be at most ${max}` };
    }
    default:
      return { path: issue.path, detail: issue.message };
  }
}

/** The first issue as an InvalidArgumentError (its field is the full path). */
export function zodToInvalidArgument(error: z.ZodError, prefix = ''): InvalidArgumentError {
  const issue = error.issues[0];
  if (!issue) return new InvalidArgumentError(prefix, 'invalid');
  const { path, detail } = describe(issue);
  const field = fieldPath(path, prefix);
  return new InvalidArgumentError(field, detail, { cause: error });
}
