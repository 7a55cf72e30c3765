/**
 * `node bin/run-ts.mjs scripts/prune-eval.ts [options]`: the whole-model pruning matrix on
 * stories260K, printed as markdown tables: dense, then ALPS, SparseGPT, Wanda and magnitude at 50 %
 * and 70 % unstructured and 2:4, each pruned one-shot (docs/algorithms.md, "Whole-model one-shot
 * pruning") and evaluated by perplexity on held-out text.
 *
 * Split (deterministic, no overlap): the held-out part is the text from the first paragraph break
 * in its last --held-out characters (default 40 000, about 20 000 tokens of tinystories-val.txt);
 * calibration samples --nsamples windows of --calib-seqlen tokens (default 32 × 256, seed 0) from
 * the text before it. Perplexity: the held-out part tokenized once, consecutive --seqlen windows
 * (default 512, the model's training context), the last partial window dropped, exp(mean NLL).
 *
 * Options: --model DIR, --text FILE, --nsamples N, --calib-seqlen N, --seqlen N, --held-out CHARS,
 * --seed N, --methods alps,sparsegpt,..., --patterns 50%,70%,2:4, --json FILE (raw results).
 * Progress goes to stderr, the tables to stdout.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { openNodeGpu } from '../src/gpu/node';
import { ModelRunner } from '../src/model/forward';
import { openModelDir } from '../src/model/nodeFolder';
import { perplexityOfTokens } from '../src/model/perplexity';
import { sampleWindows } from '../src/pipeline/calibration';
import { applyPrunedWeights } from '../src/pipeline/generate';
import { pruneModel, type PrunedModel } from '../src/pipeline/prune';
import { METHODS, type Method } from '../src/shared/methods';
import type { Pattern } from '../src/shared/pattern';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

function parsePatternLabel(label: string): Pattern {
  const nm = /^(\d+):(\d+)$/.exec(label);
  if (nm) return { kind: 'nm', n: Number(nm[1]), m: Number(nm[2]) };
  const s = label.endsWith('%') ? Number(label.slice(0, -1)) / 100 : Number(label);
  if (!(s >= 0 && s < 1)) throw new Error(`bad pattern ${label}: give 50%, 0.7 or N:M`);
  return { kind: 'unstructured', sparsity: s };
}

/** The first paragraph break at or after `from` (the held-out part never starts mid-sentence). */
function fromParagraph(text: string, from: number): number {
  const at = text.indexOf('\n\n', Math.max(0, from));
  return at < 0 ? from : at + 2;
}

const shared = resolve(import.meta.dirname ?? '.', '../../shared');
const modelDir = resolve(arg('model', `${shared}/models/stories260K`));
const textPath = resolve(arg('text', `${shared}/data/tinystories-val.txt`));
const nsamples = Number(arg('nsamples', '32'));
const calibSeqlen = Number(arg('calib-seqlen', '256'));
const seqlen = Number(arg('seqlen', '512'));
const heldOut = Number(arg('held-out', '40000'));
const seed = Number(arg('seed', '0'));
const methods = arg('methods', METHODS.join(',')).split(',') as Method[];
const patternLabels = arg('patterns', '50%,70%,2:4').split(',');
const jsonOut = arg('json', '');

if (!existsSync(modelDir) || !existsSync(textPath)) {
  console.error(`Missing ${existsSync(modelDir) ? textPath : modelDir} (the shared models and data live in ../shared).`);
  process.exit(1);
}
for (const m of methods) if (!METHODS.includes(m)) throw new Error(`unknown method ${m}`);

const log = (line: string) => process.stderr.write(line + '\n');
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;

interface Cell {
  method: Method | 'dense';
  pattern: string;
  perplexity: number;
  /** Geometric mean over layers of the relative reconstruction error. */
  geoRelError: number | null;
  pruneSeconds: number;
  evalSeconds: number;
}

const model = await openModelDir(modelDir);
if (!model.tokenizer) throw new Error(`${modelDir} has no tokenizer.json`);
const gpu = await openNodeGpu();
const device = [gpu.adapter.vendor, gpu.adapter.architecture].filter(Boolean).join(' ') || gpu.adapter.description || 'WebGPU';
const cells: Cell[] = [];
try {
  const text = readFileSync(textPath, 'utf8');
  const split = fromParagraph(text, text.length - heldOut);
  const calibIds = model.tokenizer.encode(text.slice(0, split));
  const evalIds = model.tokenizer.encode(text.slice(split));
  const windows = sampleWindows(calibIds, { nsamples, seqlen: calibSeqlen, seed });
  const evalWindows = Math.floor(evalIds.length / seqlen);
  log(
    `${model.name} on ${device}: calibration ${nsamples} × ${calibSeqlen} tokens (seed ${seed}) from the first ${split} characters ` +
      `(${calibIds.length} tokens); evaluation on the last ${text.length - split} characters (${evalIds.length} tokens, ${evalWindows} windows of ${seqlen})`,
  );

  const evaluate = async (weights: PrunedModel['weights'] | null) => {
    const t = performance.now();
    const runner = new ModelRunner(gpu, model.arch, model.weights);
    try {
      if (weights) applyPrunedWeights(runner, model, weights);
      const r = await perplexityOfTokens(runner, evalIds, { seqlen });
      return { perplexity: r.perplexity, seconds: (performance.now() - t) / 1000 };
    } finally {
      runner.dispose();
    }
  };

  const d = await evaluate(null);
  cells.push({ method: 'dense', pattern: '-', perplexity: d.perplexity, geoRelError: null, pruneSeconds: 0, evalSeconds: d.seconds });
  log(`dense: perplexity ${d.perplexity.toFixed(3)} (${elapsed()})`);

  for (const label of patternLabels) {
    const pattern = parsePatternLabel(label);
    for (const method of methods) {
      const t = performance.now();
      let lastLog = 0;
      const pruned = await pruneModel(gpu, model, {
        method,
        pattern,
        windows,
        seqlen: calibSeqlen,
        onProgress: (p) => {
          const now = performance.now();
          if (now - lastLog > 10_000) {
            lastLog = now;
            log(`  ${label} ${method}: layer ${p.layerIndex + 1} of ${p.layerCount} ${p.layer} (${elapsed()})`);
          }
        },
      });
      const pruneSeconds = (performance.now() - t) / 1000;
      const e = await evaluate(pruned.weights);
      const geo = Math.exp(pruned.report.reduce((a, l) => a + Math.log(Math.max(l.relError, 1e-30)), 0) / pruned.report.length);
      cells.push({ method, pattern: label, perplexity: e.perplexity, geoRelError: geo, pruneSeconds, evalSeconds: e.seconds });
      log(`${label} ${method}: perplexity ${e.perplexity.toFixed(3)}, geo-mean rel error ${geo.toPrecision(4)}, pruned in ${pruneSeconds.toFixed(0)} s (${elapsed()})`);
    }
  }

  const cell = (m: Method, p: string) => cells.find((c) => c.method === m && c.pattern === p)!;
  const lines = [
    `Perplexity of ${model.name} on held-out TinyStories text (${evalWindows} windows of ${seqlen} tokens; dense ${d.perplexity.toFixed(2)}).`,
    `Calibration: ${nsamples} × ${calibSeqlen} tokens, seed ${seed}. Device: ${device}.`,
    '',
    `| method | ${patternLabels.join(' | ')} |`,
    `| --- | ${patternLabels.map(() => '---:').join(' | ')} |`,
    `| dense | ${patternLabels.map(() => d.perplexity.toFixed(2)).join(' | ')} |`,
    ...methods.map((m) => `| ${m} | ${patternLabels.map((p) => cell(m, p).perplexity.toFixed(2)).join(' | ')} |`),
    '',
    'Geometric mean over the 35 layers of the relative reconstruction error f(W)/tr(W0 G W0ᵀ), and pruning time:',
    '',
    `| method | ${patternLabels.map((p) => `${p} rel. error | ${p} time`).join(' | ')} |`,
    `| --- | ${patternLabels.map(() => '---: | ---:').join(' | ')} |`,
    ...methods.map((m) => `| ${m} | ${patternLabels.map((p) => `${cell(m, p).geoRelError!.toPrecision(3)} | ${cell(m, p).pruneSeconds.toFixed(0)} s`).join(' | ')} |`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (jsonOut) {
    writeFileSync(jsonOut, JSON.stringify({ model: model.name, device, nsamples, calibSeqlen, seqlen, seed, heldOutChars: text.length - split, evalTokens: evalIds.length, cells }, null, 2));
  }
  log(`done in ${elapsed()}`);
} finally {
  await model.close();
  gpu.destroy();
}
