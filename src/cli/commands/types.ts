import type { OptionSpecs, ParsedArgs } from '../args';

/** Where a command writes and how it learns that the person pressed Ctrl-C. */
export interface CliContext {
  /** Results (and --json's final line). */
  stdout(text: string): void;
  /** Progress and warnings. */
  stderr(text: string): void;
  /** Aborted on SIGINT; long runs check it between iterations. */
  signal: AbortSignal;
  /** Whether stderr is a terminal (progress can then redraw one line). */
  interactive: boolean;
}

/**
 * One subcommand. Adding a command is: a module under src/cli/commands/ exporting a Command, and one
 * line in commands/index.ts.
 */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Positional part of the usage line, e.g. "<problem.safetensors>". */
  args: string;
  options: OptionSpecs;
  /** Paragraphs after the option list in --help (examples, exit codes). */
  details?: string;
  /** Returns the exit code; throws UsageError (2) or anything else (1) to fail with one line. */
  run(args: ParsedArgs, ctx: CliContext): Promise<number>;
}
