import { formatOptions } from './args';
import { COMMANDS } from './commands/index';
import type { Command } from './commands/types';
import { methodLabels } from './options';

export const PROGRAM = 'prune-studio';

export function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `${PROGRAM}: prune small language models on your GPU (WebGPU) with ${methodLabels()}.`,
    '',
    `Usage: ${PROGRAM} <command> [options]`,
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    `Run \`${PROGRAM} <command> --help\` for a command's options.`,
    'Exit codes: 0 success, 1 bad input or failed run, 2 bad command line, 130 interrupted.',
  ].join('\n');
}

export function commandHelp(c: Command): string {
  return [
    `Usage: ${PROGRAM} ${c.name} ${c.args} [options]`,
    '',
    c.summary,
    '',
    'Options:',
    formatOptions(c.options),
    ...(c.details ? ['', c.details] : []),
  ].join('\n');
}
