// Placeholder: the placement work replaces this file with the real `gantry plan`.
import type { Command } from './command.js';
export const planCommand: Command = {
  name: 'plan',
  summary: 'plan a job against a described cluster',
  async run(_argv, io) {
    io.stderr('gantry plan: not built yet\n');
    return 1;
  },
};
