import { compact } from './compact';
import { evalCommand } from './eval';
import { generateCommand } from './generate';
import { prune } from './prune';
import { pruneLayer } from './pruneLayer';
import type { Command } from './types';

/** Every subcommand, in the order --help lists them. */
export const COMMANDS: readonly Command[] = [prune, evalCommand, pruneLayer, compact, generateCommand];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}
