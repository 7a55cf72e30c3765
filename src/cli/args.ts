import { UsageError } from './errors';

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** One-letter alias, without the dash. */
  short?: string;
  /** Placeholder shown in help, e.g. "<file>". */
  value?: string;
  description: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

export interface ParsedArgs {
  options: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * A small strict parser: `--name value`, `--name=value`, boolean `--flag`, `-x` aliases and `--` to end
 * options. Anything unknown, repeated or missing its value is a UsageError with a hint.
 */
export function parseArgs(argv: readonly string[], specs: OptionSpecs): ParsedArgs {
  const options: ParsedArgs['options'] = {};
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(specs).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
      if (!Object.prototype.hasOwnProperty.call(specs, name)) {
        const hint = closest(name, Object.keys(specs));
        throw new UsageError(`unknown option --${name}${hint ? ` (did you mean --${hint}?)` : ''}`);
      }
    } else if (/^-[A-Za-z]$/.test(arg)) {
      name = byShort.get(arg.slice(1));
      if (!name) throw new UsageError(`unknown option ${arg}`);
    } else if (arg.startsWith('-') && arg.length > 1 && !/^-[\d.]/.test(arg)) {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      positionals.push(arg);
      continue;
    }
    const spec = specs[name]!;
    if (options[name] !== undefined) throw new UsageError(`option --${name} was given twice`);
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`option --${name} takes no value`);
      options[name] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      // A following option is not a value (but a negative number is).
      if (next === undefined || (next.startsWith('-') && next.length > 1 && !/^-[\d.]/.test(next))) {
        throw new UsageError(`option --${name} needs a value${spec.value ? ` ${spec.value}` : ''}`);
      }
      value = next;
      i++;
    }
    options[name] = value;
  }
  return { options, positionals };
}

/** The spec name nearest to a mistyped one, if it is close enough to be a typo. */
function closest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Help text for a command's options, aligned in two columns. */
export function formatOptions(specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => [
    `${s.short ? `-${s.short}, ` : '    '}--${name}${s.value ? ` ${s.value}` : ''}`,
    s.description,
  ]);
  const width = Math.max(...rows.map(([left]) => left!.length));
  return rows.map(([left, right]) => `  ${left!.padEnd(width)}  ${right}`).join('\n');
}
