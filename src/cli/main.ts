/**
 * The command-line tool's dispatcher: `prune-studio <command> [options]`. Every failure becomes one line
 * `prune-studio: error: <message>` on stderr and an exit code (2 usage, 1 input or run, 130 Ctrl-C).
 */
import { parseArgs } from './args';
import { findCommand } from './commands/index';
import type { CliContext } from './commands/types';
import { cliGpuAdvice, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, oneLine, UsageError } from './errors';
import { commandHelp, generalHelp, PROGRAM } from './help';

export function errorLine(error: unknown, command?: string): string {
  return `${PROGRAM}: error: ${cliGpuAdvice(oneLine(error), command)}\n`;
}

/** The standard streams; a closed pipe (`| head`) is not an error worth a trace. */
function processContext(signal: AbortSignal): CliContext {
  const quietly = (stream: NodeJS.WriteStream) => (text: string) => {
    try {
      stream.write(text);
    } catch {
      // The reader went away; nothing useful to do.
    }
  };
  process.stdout.on('error', () => {});
  return { stdout: quietly(process.stdout), stderr: quietly(process.stderr), signal, interactive: Boolean(process.stderr.isTTY) };
}

/** Runs one command line and returns the exit code; never throws. */
export async function main(argv: readonly string[], context?: Partial<CliContext>): Promise<number> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    // First Ctrl-C asks the run to stop between iterations; a second one leaves at once.
    if (++interrupts > 1) {
      process.stderr.write(errorLine('interrupted'));
      process.exit(EXIT_INTERRUPTED);
    }
    controller.abort();
  };
  const ctx: CliContext = { ...processContext(context?.signal ?? controller.signal), ...context };
  if (!context) process.on('SIGINT', onSigint);
  try {
    const [first, ...rest] = argv;
    if (first === undefined) throw new UsageError(`no command given; run \`${PROGRAM} --help\``);
    if (first === '--help' || first === '-h' || first === 'help') {
      const target = rest[0];
      if (target === undefined) {
        ctx.stdout(generalHelp() + '\n');
        return EXIT_OK;
      }
      const command = findCommand(target);
      if (!command) throw new UsageError(`unknown command "${target}"; run \`${PROGRAM} --help\` for the list`);
      ctx.stdout(commandHelp(command) + '\n');
      return EXIT_OK;
    }
    if (first === '--version' || first === '-V') {
      ctx.stdout(`${PROGRAM} ${await version()}\n`);
      return EXIT_OK;
    }
    const command = findCommand(first);
    if (!command) {
      throw new UsageError(
        first.startsWith('-')
          ? `expected a command before ${first}; run \`${PROGRAM} --help\``
          : `unknown command "${first}"; run \`${PROGRAM} --help\` for the list`,
      );
    }
    const beforeDashes = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
    if (beforeDashes.includes('--help') || beforeDashes.includes('-h')) {
      ctx.stdout(commandHelp(command) + '\n');
      return EXIT_OK;
    }
    return await command.run(parseArgs(rest, { ...command.options }), ctx);
  } catch (error) {
    ctx.stderr(errorLine(error, argv[0]));
    if (error instanceof UsageError) return EXIT_USAGE;
    if (error instanceof Error && error.name === 'CancelledError') return EXIT_INTERRUPTED;
    return EXIT_FAILURE;
  } finally {
    if (!context) process.off('SIGINT', onSigint);
  }
}

async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}
