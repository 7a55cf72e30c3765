/**
 * `prune <model-dir> --calib <text> --method <m> (--sparsity <s> | --pattern <N:M>) --out <dir>`:
 * whole-model one-shot pruning as the papers run it (docs/algorithms.md): calibration windows sampled
 * from a text, blocks pruned in order with true-sequential re-capture, and the pruned model written
 * as a Hugging Face folder (same tensor names, dtypes and shapes) with its per-layer report.
 */
import { cancelOnly } from '../../shared/control';
import type { ParsedArgs } from '../args';
import { EXIT_OK, InputError, UsageError } from '../errors';
import { checkPatternFits, choices, DEFAULT_REFINE_SWAPS, parseMethod, parsePattern, parseProfile, parseRefine, SPARSITY_PROFILES, STRUCTURED_METHOD } from '../options';
import { CancelledError } from '../../gpu/errors';
import type { OpenedModel } from '../../model/loader';
import type { PrunedModel } from '../../pipeline/prune';
import { describeProfile, OWL_DEFAULTS } from '../../shared/budget';
import { healthDigest } from '../../shared/health';
import { CHANNEL_SELECTIONS, METHODS, type Method } from '../../shared/methods';
import { describePattern, keptCount, patternLabel, targetSparsity, type Pattern } from '../../shared/pattern';
import { checkSeqlen, deviceName, modelContext, openModelArg, parseCount, readTextArg, requireString, requireTokenizer, seconds } from './eval';
import { onDevice } from './device';
import { prepareOutDir, removeCreated, writeFolder, type OutputFile } from './outputFolder';
import { ModelProgress } from './pruneProgress';
import { MANIFEST, openCheckpoint, type DiskCheckpoint } from './resume';
import { pruneTable, summarizeLayers, type PruneReport } from './pruneReport';
import { parseChannelOptions, runStructured } from './pruneStructured';
import { MAX_SHARD_SIZE_OPTION, PACK_OPTION, parseShardSize } from './shardSize';
import type { CliContext, Command } from './types';

export type { PruneReport } from './pruneReport';
export type { StructuredReport } from './pruneStructured';

/** Every linear layer can take the pattern and keeps at least one weight. */
function checkLayers(model: OpenedModel, pattern: Pattern, dir: string): void {
  for (const block of model.arch.blocks) {
    for (const spec of block.linears) {
      const id = spec.weight.replace(/\.weight$/, '');
      checkPatternFits(pattern, spec.out, spec.in, `${id} of ${dir}`);
      if (keptCount(pattern, spec.out, spec.in) < 1) {
        throw new InputError(`--sparsity ${pattern.kind === 'unstructured' ? pattern.sparsity : ''} would keep no weight of the ${spec.out}×${spec.in} layer ${id}`);
      }
    }
  }
}

export const prune: Command = {
  name: 'prune',
  summary: 'Prune a whole model folder one-shot (calibration text in, pruned Hugging Face folder out).',
  args: '<model-dir>',
  options: {
    calib: { type: 'string', short: 'c', value: '<file>', description: 'calibration text, UTF-8 (required)' },
    method: { type: 'string', short: 'm', value: choices([...METHODS, STRUCTURED_METHOD]), description: 'pruning method (required); spap removes whole MLP channels' },
    sparsity: { type: 'string', short: 's', value: '<s>', description: 'unstructured: fraction of weights to remove, in [0, 1) (0.7 or 70%); spap: fraction of MLP channels' },
    selection: { type: 'string', value: choices(CHANNEL_SELECTIONS), description: 'spap only: how channels are chosen (default spap; the others are the baselines, same refit)' },
    structures: { type: 'string', value: '<mlp,heads>', description: 'spap only: --sparsity is then the fraction of the block parameters, split between MLP channels and attention key/value groups by measured cost' },
    mlp: { type: 'string', value: '<f>', description: 'spap only: fraction of every block\'s MLP channels to remove (with --heads; instead of --sparsity)' },
    heads: { type: 'string', value: '<f>', description: 'spap only: fraction of every block\'s key/value groups (with their query heads) to remove, rounded to whole groups' },
    pattern: { type: 'string', short: 'p', value: '<N:M>', description: 'semi-structured: keep N of every M consecutive inputs (2:4, 4:8)' },
    'sparsity-profile': { type: 'string', value: choices(SPARSITY_PROFILES), description: 'with --sparsity: every layer alike (default) or OWL, blocks with more outliers pruned less; same overall count' },
    'owl-m': { type: 'string', value: '<M>', description: `OWL: a score is an outlier above M × its block's mean score (default ${OWL_DEFAULTS.m})` },
    'owl-lambda': { type: 'string', value: '<λ>', description: `OWL: block sparsities stay within ±λ of --sparsity (default ${OWL_DEFAULTS.lambda})` },
    'layer-sparsity': { type: 'string', value: '<glob=s,…>', description: "per-layer sparsities by layer name, first match wins, e.g. 'self_attn.*=0.5,mlp.*=0.75'; others take --sparsity" },
    'exact-total': { type: 'boolean', description: 'with --layer-sparsity: shift every layer by one amount so the overall count equals --sparsity\'s exactly' },
    nsamples: { type: 'string', value: '<n>', description: 'calibration windows (default 32)' },
    seqlen: { type: 'string', value: '<n>', description: 'tokens per calibration window (default min(256, the model context))' },
    seed: { type: 'string', value: '<n>', description: 'seed of the window sampling (default 0)' },
    out: { type: 'string', short: 'o', value: '<dir>', description: 'folder to write the pruned model to (required; created)' },
    'max-shard-size': MAX_SHARD_SIZE_OPTION,
    compact: { type: 'boolean', description: 'store the pruned weights compact: values plus a bitmask (compressed-tensors sparse-bitmask, or sparse-24-bitmask for 2:4); see docs/compact.md' },
    pack: PACK_OPTION,
    refine: { type: 'string', value: 'swaps[:N]', description: `after the method, at most N rounds of swap moves per output row of every layer (default ${DEFAULT_REFINE_SWAPS}; swaps:2s: for 2 s a layer), then a refit` },
    resume: { type: 'string', value: '<dir>', description: 'checkpoint folder (created): finished blocks are saved there; run again, continues after them' },
    json: { type: 'boolean', description: 'print the result as one JSON object on the last line of stdout' },
    quiet: { type: 'boolean', short: 'q', description: 'no progress on stderr' },
    help: { type: 'boolean', short: 'h', description: 'show this help' },
  },
  details: [
    'Calibration: --nsamples windows of --seqlen consecutive tokens at seeded random offsets of the',
    'tokenized --calib text. Blocks are pruned in order; inside a block {q,k,v}, {o}, {gate,up}, {down},',
    'each group seeing the inputs of the block as pruned so far. The output folder holds model.safetensors',
    '(same tensor names, dtypes and shapes), config.json and the tokenizer files, and prune_report.json.',
    'Exactly one of --sparsity and --pattern is required. The weights are written tensor by tensor',
    '(never the whole model in memory), sharded like the input (same shard files and index) or, with',
    '--max-shard-size, as model-00001-of-0000N.safetensors shards and model.safetensors.index.json.',
    '',
    'Sparsity profiles (unstructured): with --sparsity-profile owl a first dense pass over the',
    'calibration windows measures each block\'s outlier ratio (share of |W_ij|·‖X_j‖ above M × their',
    'mean); blocks are mapped linearly onto [s − λ, s + λ], more outliers pruned less, and shifted so',
    'the weights pruned over all layers equal the uniform --sparsity count exactly. --layer-sparsity',
    'sets layers by glob (a glob matches the whole name or a dot-separated tail of it); with',
    '--exact-total they are shifted to the uniform count too. The report gives each layer\'s sparsity.',
    '',
    'Structured: --method spap --sparsity <f> removes the fraction f of every block\'s MLP channels',
    '(rows of gate/up, columns of down), refits down on the kept ones, and writes a smaller checkpoint',
    'with config.json\'s intermediate_size (n_inner, ffn_dim) updated.',
    'With --structures mlp,heads, --sparsity is the fraction of the blocks\' parameters to remove, split between',
    'MLP channels and whole key/value groups (a key/value head with the query heads sharing it) by their',
    'OBS costs on a dense pass; --mlp <f> --heads <f> give the two fractions instead. Heads leave q/k/v',
    '(rows) and o_proj (columns, refit on the kept heads); num_attention_heads, num_key_value_heads and',
    'head_dim are written to config.json (not for GPT-2 and OPT, whose transformers code derives head_dim).',
    '',
    'Resuming (unstructured methods): with --resume <dir>, each finished block\'s pruned weights (at the',
    `model's dtype, block-NNNN.safetensors) and ${MANIFEST} (the model's fingerprint, method, pattern, method options,`,
    'calibration) are written to <dir>, each through a temporary name and a rename. Killed or',
    'interrupted, the same command run again continues after the last finished block and writes the',
    'weights an uninterrupted run writes. A checkpoint of other arguments or another model, or with a',
    'damaged file, is refused and left as it is: run the command it was made with, or delete the folder',
    'to start over. The checkpoint is removed once the pruned model is written.',
    '',
    'Example:',
    '  prune-studio prune stories260K/ --calib tinystories-val.txt --method alps --sparsity 0.7 --out stories260K-alps70/',
    '  prune-studio prune stories260K/ --calib tinystories-val.txt --method alps --sparsity 0.7 --out stories260K-alps70/ --resume ck/',
  ].join('\n'),

  async run(args: ParsedArgs, ctx: CliContext): Promise<number> {
    const { options, positionals } = args;
    if (positionals.length === 0) throw new UsageError('prune needs a model folder: prune <model-dir> --calib <file> --method <m> --sparsity <s> --out <dir>');
    if (positionals.length > 1) throw new UsageError(`prune takes one model folder, got ${positionals.length}: ${positionals.join(' ')}`);
    const dir = positionals[0]!;
    const structured = options.method === STRUCTURED_METHOD;
    const method: Method | typeof STRUCTURED_METHOD = structured ? STRUCTURED_METHOD : parseMethod(options.method);
    const pattern: Pattern | null = structured ? null : parsePattern(options);
    const channels = structured ? parseChannelOptions(options) : null;
    const profile = parseProfile(options, pattern);
    const calibPath = requireString(options.calib, 'calib', '<file> (the calibration text)');
    const out = requireString(options.out, 'out', '<dir> (where to write the pruned model)');
    const nsamples = parseCount(options.nsamples, 'nsamples', 32);
    const seqlenOption = options.seqlen === undefined ? undefined : parseCount(options.seqlen, 'seqlen', undefined, 2);
    const seed = parseCount(options.seed, 'seed', 0, 0);
    const quiet = options.quiet === true;
    const maxShardSize = parseShardSize(options['max-shard-size']);
    const compact = options.compact === true;
    const pack = options.pack === true;
    if (compact && structured) throw new UsageError('--compact stores sparse weights as values plus a bitmask; spap removes whole channels, so its output is already dense and smaller');
    const resumeDir = options.resume === undefined ? undefined : requireString(options.resume, 'resume', '<dir> (the checkpoint folder)');
    if (structured && resumeDir !== undefined) throw new UsageError('--resume works with the unstructured methods (alps, sparsegpt, wanda, magnitude); a spap run starts over');
    const refine = parseRefine(options.refine);
    if (refine && structured) throw new UsageError('--refine swaps polishes masks of single weights (alps, sparsegpt, wanda, magnitude); spap removes whole channels');
    if (refine && resumeDir !== undefined) throw new UsageError('--refine cannot be combined with --resume yet (a checkpoint does not record it); run without --resume');

    // Every check that needs no GPU comes first, so bad input fails fast and with one line.
    const model = await openModelArg(dir);
    try {
      const tokenizer = requireTokenizer(model, dir);
      const seqlen = seqlenOption ?? Math.min(256, modelContext(model));
      checkSeqlen(seqlen, model, dir);
      if (pattern) checkLayers(model, pattern, dir);
      const text = await readTextArg(calibPath);
      if (!text.trim()) throw new InputError(`${calibPath} is empty`);
      const ids = tokenizer.encode(text);
      if (ids.length < seqlen) {
        throw new InputError(`${calibPath} has ${ids.length} tokens, fewer than one calibration window of ${seqlen}; use a longer text or a smaller --seqlen`);
      }
      const [{ sampleWindows }, { pruneModel, prunedWeightTable }, { modelFiles, prunedEdits }, { runIdentity }] = await Promise.all([
        import('../../pipeline/calibration'),
        import('../../pipeline/prune'),
        import('../../pipeline/export'),
        import('../../pipeline/checkpoint'),
      ]);
      const windows = sampleWindows(ids, { nsamples, seqlen, seed });
      if (channels) {
        return await runStructured(ctx, { model, dir, out, calibPath, nsamples, seqlen, seed, windows, quiet, json: options.json === true, maxShardSize, pack, ...channels });
      }
      if (!pattern || method === STRUCTURED_METHOD) throw new Error('unreachable: unstructured run without a pattern');
      // The output folder is checked (and created) before anything is printed or run.
      const created = await prepareOutDir(out, dir);

      let pruned: PrunedModel;
      let files: OutputFile[];
      let device = '';
      // Finished layers live here, outside the device: a run on a reopened device continues after them.
      const done = { weights: prunedWeightTable(model), report: [] as PrunedModel['report'] };
      const layerCount = model.arch.blocks.reduce((a, b) => a + b.linears.length, 0);
      let checkpoint: DiskCheckpoint | null = null;
      try {
        // The checkpoint is checked before anything is printed: a refusal is the only line.
        if (resumeDir !== undefined) {
          const run = await runIdentity(model, { method, pattern, profile, calibration: { text: calibPath, content: text, nsamples, seqlen, seed, windows } });
          checkpoint = await openCheckpoint(resumeDir, { model, run, done, out, modelDir: dir });
        }
        if (!quiet) {
          ctx.stderr(
            `prune: ${dir}, ${method}, ${patternLabel(pattern)}${profile.kind === 'uniform' ? '' : `, ${describeProfile(profile)}`}; ` +
              `${nsamples} windows of ${seqlen} tokens from ${calibPath} (${ids.length} tokens)\n`,
          );
          if (checkpoint && checkpoint.restored > 0) {
            ctx.stderr(`  resuming from ${resumeDir}: ${checkpoint.restored} of ${model.arch.blocks.length} blocks finished (${done.report.length} of ${layerCount} layers)\n`);
          }
        }
        const started = performance.now();
        const progress = new ModelProgress(model, done.report, started);
        const saving = checkpoint;
        pruned = await onDevice(ctx, {
          command: 'prune',
          onOpen: (gpu) => {
            device = deviceName(gpu);
            if (!quiet) ctx.stderr(`  device: ${device}\n`);
          },
          resumeNote: () => `continuing after ${done.report.length} of ${layerCount} finished layers`,
          run: (gpu) =>
            pruneModel(gpu, model, {
              method,
              pattern,
              profile,
              ...(refine ? { refine } : {}),
              windows,
              seqlen,
              done,
              control: cancelOnly(ctx.signal),
              onProgress: (p) => {
                progress.layerStarted();
                if (!quiet) ctx.stderr(`layer ${p.layerIndex + 1} of ${p.layerCount} ${p.layer} ${method} ${seconds(performance.now() - started)}\n`);
              },
              onLayer: (outcome) => {
                if (!quiet) ctx.stderr(progress.finished(outcome));
              },
              onBlockDone: saving ? (index) => saving.saveBlock(index, done) : undefined,
            }),
        });
        pruned.ms = performance.now() - started;
        files = await modelFiles(model, prunedEdits(pruned), { maxShardSize, compact, pack });
        // Ctrl-C after the last layer: still nothing written.
        if (ctx.signal.aborted) throw new CancelledError();
        await writeFolder(out, files);
        await checkpoint?.remove();
      } catch (error) {
        if (created) await removeCreated(out, created);
        // Shown even with --quiet: it says how to keep the work.
        if (checkpoint) ctx.stderr(`prune: ${checkpoint.blocks()} of ${model.arch.blocks.length} blocks are saved in ${checkpoint.dir}; run the same command again to continue after them.\n`);
        throw error;
      }
      const { layers, sparsity } = summarizeLayers(pruned.report);
      const report: PruneReport = {
        model: dir,
        method,
        pattern: describePattern(pattern),
        targetSparsity: targetSparsity(pattern),
        profile: describeProfile(profile),
        sparsity,
        calib: calibPath,
        nsamples,
        seqlen,
        seed,
        layers,
        ms: Math.round(pruned.ms),
        device,
        out,
        files: files.map((f) => f.name),
      };
      if (options.json === true) ctx.stdout(JSON.stringify(report) + '\n');
      else ctx.stdout(pruneTable(report, `${patternLabel(pattern)}${profile.kind === 'uniform' ? '' : `, ${report.profile}`}`) + '\n');
      if (options.json !== true) for (const line of healthDigest(pruned.report)) ctx.stdout(line + '\n');
      return EXIT_OK;
    } finally {
      await model.close();
    }
  },
};
