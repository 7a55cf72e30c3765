/**
 * `prune-layer <problem.safetensors>`: prune one layer problem file (weight + gram) with one method
 * and report the error; optionally write the pruned weight.
 */
import { cancelOnly } from '../../shared/control';
import { access, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ParsedArgs } from '../args';
import { describeFsError, EXIT_OK, InputError, UsageError } from '../errors';
import { checkPatternFits, choices, DEFAULT_REFINE_SWAPS, parseMethod, parsePattern, parseRefine } from '../options';
import { METHODS, type Method } from '../../shared/methods';
import { healthWarnings, type LayerHealth } from '../../shared/health';
import type { LayerSummary } from '../../shared/outcome';
import { describePattern, keptCount, patternLabel, targetSparsity, type Pattern } from '../../shared/pattern';
import type { LayerProblem } from '../../shared/problem';
import type { AlpsIteration, SolverEvent } from '../../shared/telemetry';
import type { RefineReport, SolveResult } from '../../solvers/types';
import { readLayerProblem } from '../../formats/layerProblem';
import { openFileSource } from '../../formats/nodeFile';
import { writeSafetensors } from '../../formats/safetensors';
import { onDevice } from './device';
import type { CliContext, Command } from './types';

/**
 * What --json prints as the last stdout line: the layer-outcome fields that apply to a layer from a
 * file (no model position), its shape, where it ran, and the ALPS history in brief.
 */
export interface PruneLayerReport
  extends Pick<LayerSummary, 'method' | 'pattern' | 'targetSparsity' | 'sparsity' | 'nnz' | 'relError' | 'relErrorBeforeRefit' | 'iterations' | 'ms'> {
  file: string;
  m: number;
  n: number;
  device: string;
  out: string | null;
  history: { iter: number; rho: number; supportChange: number | null; relError: number }[];
  /** The gram's numerical health (src/shared/health.ts) and its warnings, one line each. */
  health: LayerHealth | null;
  warnings: string[];
  /** With --refine: the objective before and after the swaps and the refit, and the swaps made. */
  refinement?: Omit<RefineReport, 'history'> & { history: { round: number; swaps: number; relError: number }[] };
}

export async function loadProblem(path: string): Promise<LayerProblem> {
  let src;
  try {
    src = await openFileSource(path);
  } catch (error) {
    if ((error as Error).message?.endsWith('is not a regular file')) throw new InputError(`cannot open ${path}: not a regular file`);
    throw describeFsError(error, path);
  }
  try {
    return await readLayerProblem(src);
  } finally {
    await src.close();
  }
}

/** Fails before the (possibly long) run when the output could not be written. */
async function checkWritable(out: string): Promise<void> {
  try {
    await access(dirname(resolve(out)), constants.W_OK);
  } catch (error) {
    throw describeFsError(error, out, 'write');
  }
}

/** Progress lines on stderr: phases, and ALPS iterations at a readable rate. */
function progress(ctx: CliContext, quiet: boolean): (event: SolverEvent) => void {
  let last = 0;
  return (event) => {
    if (quiet) return;
    if (event.type === 'phase') ctx.stderr(`  ${event.phase}\n`);
    else if (event.type === 'iteration') {
      const it: AlpsIteration = event.data;
      const now = performance.now();
      if (it.iter === 1 || it.restarted || now - last > 1000) {
        last = now;
        const change = it.supportChangeFraction === null ? '' : ` support change ${(100 * it.supportChangeFraction).toFixed(2)}%`;
        ctx.stderr(`  iter ${it.iter}: rho ${it.rho.toPrecision(3)} rel error ${it.relError.toPrecision(4)}${change}${it.restarted ? ' (restart)' : ''}\n`);
      }
    } else if (event.type === 'pcg') {
      ctx.stderr(`  refit step ${event.data.step}: rel error ${event.data.relError.toPrecision(4)}\n`);
    } else if (event.type === 'swaps') {
      const now = performance.now();
      if (event.data.round === 1 || now - last > 1000) {
        last = now;
        ctx.stderr(`  swap round ${event.data.round}: ${event.data.swaps} swaps, rel error ${event.data.relError.toPrecision(4)}\n`);
      }
    }
  };
}

function report(file: string, problem: LayerProblem, method: Method, pattern: Pattern, result: SolveResult, device: string, out: string | null): PruneLayerReport {
  const { m, n } = problem;
  const { nnz } = result;
  return {
    file,
    m,
    n,
    method,
    pattern: describePattern(pattern),
    targetSparsity: targetSparsity(pattern),
    sparsity: 1 - nnz / (m * n),
    nnz,
    relError: result.relError,
    relErrorBeforeRefit: result.relErrorBeforeRefit,
    iterations: result.iterations,
    ms: Math.round(result.ms * 10) / 10,
    device,
    out,
    history: result.history.map((h) => ({ iter: h.iter, rho: h.rho, supportChange: h.supportChange, relError: h.relError })),
    health: result.health ?? null,
    warnings: result.health ? healthWarnings(result.health).map((w) => w.text) : [],
    ...(result.refinement ? { refinement: { ...result.refinement, ms: Math.round(result.refinement.ms * 10) / 10 } } : {}),
  };
}

function summary(r: PruneLayerReport, pattern: Pattern): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const lines = [
    `${r.file}: ${r.m}×${r.n} layer, ${r.method}, ${patternLabel(pattern)}`,
    `  kept ${r.nnz} of ${r.m * r.n} weights (sparsity ${pct(r.sparsity)})`,
    `  relative error ${r.relError.toPrecision(4)} (norm ratio ${Math.sqrt(Math.max(0, r.relError)).toPrecision(4)})` +
      (r.method === 'alps' ? `, before refit ${r.relErrorBeforeRefit.toPrecision(4)}` : ''),
    `  ${r.iterations} iteration${r.iterations === 1 ? '' : 's'} in ${r.ms.toFixed(0)} ms on ${r.device}`,
  ];
  const f = r.refinement;
  if (f) {
    lines.push(`  swaps: ${f.swaps} in ${f.rounds} round${f.rounds === 1 ? '' : 's'}, rel error ${f.relErrorBefore.toPrecision(4)} → ${f.relErrorAfterSwaps.toPrecision(4)}` +
      (f.refit ? `, after the refit ${f.relError.toPrecision(4)}` : '') + ` (${f.ms.toFixed(0)} ms)`);
  }
  if (r.out) lines.push(`  wrote ${r.out}`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

export const pruneLayer: Command = {
  name: 'prune-layer',
  summary: 'Prune one layer problem file (weight + gram) and report its reconstruction error.',
  args: '<problem.safetensors>',
  options: {
    method: { type: 'string', short: 'm', value: choices(METHODS), description: 'pruning method (required)' },
    sparsity: { type: 'string', short: 's', value: '<s>', description: 'unstructured: fraction of weights to remove, in [0, 1) (0.7 or 70%)' },
    pattern: { type: 'string', short: 'p', value: '<N:M>', description: 'semi-structured: keep N of every M consecutive inputs (2:4, 4:8)' },
    out: { type: 'string', short: 'o', value: '<file>', description: 'write the pruned weight as safetensors (tensor "weight", F32 [m, n])' },
    refine: { type: 'string', value: 'swaps[:N]', description: `after the method, at most N rounds of swap moves per output row (default ${DEFAULT_REFINE_SWAPS}; swaps:2s: for 2 s), then a refit` },
    json: { type: 'boolean', description: 'print the result as one JSON object on the last line of stdout' },
    quiet: { type: 'boolean', short: 'q', description: 'no progress on stderr' },
    help: { type: 'boolean', short: 'h', description: 'show this help' },
  },
  details: [
    'The problem file holds "weight" (F32 [m, n]) and "gram" (F32 [n, n], XᵀX of the calibration inputs);',
    'the studio exports one per layer. Exactly one of --sparsity and --pattern is required.',
    '',
    'Example:',
    '  prune-studio prune-layer q_proj.safetensors --method alps --sparsity 0.7 --out q_proj.pruned.safetensors',
  ].join('\n'),

  async run(args: ParsedArgs, ctx: CliContext): Promise<number> {
    const { options, positionals } = args;
    if (positionals.length === 0) throw new UsageError('prune-layer needs a problem file: prune-layer <problem.safetensors> --method <m> --sparsity <s>');
    if (positionals.length > 1) throw new UsageError(`prune-layer takes one problem file, got ${positionals.length}: ${positionals.join(' ')}`);
    const method = parseMethod(options.method);
    const pattern = parsePattern(options);
    const refine = parseRefine(options.refine);
    const file = positionals[0]!;
    const out = typeof options.out === 'string' ? options.out : null;
    const quiet = options.quiet === true;

    // Every check that needs no GPU comes first, so bad input fails fast and with one line.
    const problem = await loadProblem(file);
    checkPatternFits(pattern, problem.m, problem.n, file);
    if (keptCount(pattern, problem.m, problem.n) < 1) {
      throw new InputError(`sparsity ${describePattern(pattern)} ${pattern.kind === 'unstructured' ? pattern.sparsity : ''} would keep no weight of the ${problem.m}×${problem.n} layer`.replace(/\s+/g, ' '));
    }
    if (out) await checkWritable(out);

    const { solveLayer } = await import('../../solvers/index');
    if (!quiet) ctx.stderr(`prune-layer: ${file} (${problem.m}×${problem.n}), ${method}, ${describePattern(pattern)}\n`);
    let device = '';
    const result: SolveResult = await onDevice(ctx, {
      command: 'prune-layer',
      onOpen: (gpu) => {
        const a = gpu.adapter;
        device = [a.vendor, a.architecture].filter(Boolean).join(' ') || a.description || 'WebGPU';
        if (!quiet) ctx.stderr(`  device: ${device}\n`);
      },
      resumeNote: () => 'solving the layer again',
      run: (gpu) => solveLayer(gpu, problem, method, pattern, { onEvent: progress(ctx, quiet), control: cancelOnly(ctx.signal), ...(refine ? { refine } : {}) }),
    });

    const r = report(file, problem, method, pattern, result, device, out);
    if (out) {
      const bytes = writeSafetensors([{ name: 'weight', dtype: 'F32', shape: [problem.m, problem.n], data: result.weight }], {
        ...(problem.meta ?? {}),
        method,
        pattern: r.pattern,
        sparsity: String(r.sparsity),
        relError: String(r.relError),
        source: file,
      });
      try {
        await writeFile(out, bytes);
      } catch (error) {
        throw describeFsError(error, out, 'write');
      }
    }
    if (options.json === true) ctx.stdout(JSON.stringify(r) + '\n');
    else ctx.stdout(summary(r, pattern) + '\n');
    return EXIT_OK;
  },
};
