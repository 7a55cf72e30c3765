/**
 * `compact <pruned-dir> --out <dir>`: the same model with its sparse linear weights stored compact
 * (compressed-tensors sparse-bitmask, or sparse-24-bitmask when every one is 2:4; docs/compact.md).
 * The weights stream tensor by tensor; the folder loads back to exactly the same weights.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ParsedArgs } from '../args';
import { EXIT_OK, UsageError } from '../errors';
import { openModelArg, requireString } from './eval';
import { prepareOutDir, removeCreated, writeFolder } from './outputFolder';
import { MAX_SHARD_SIZE_OPTION, PACK_OPTION, parseShardSize } from './shardSize';
import type { CliContext, Command } from './types';

export interface CompactReport {
  model: string;
  out: string;
  format: string | null;
  /** Linear weights stored compact, of all the model's linear weights. */
  compressed: number;
  linears: number;
  denseBytes: number;
  compactBytes: number;
  ratio: number;
  ms: number;
  files: string[];
}

const weightFile = (name: string): boolean => name.endsWith('.safetensors') || name.endsWith('.safetensors.pack') || name === 'model.safetensors.index.json';

async function folderBytes(dir: string, names: readonly string[]): Promise<number> {
  let total = 0;
  for (const name of names) if (weightFile(name)) total += (await stat(join(dir, name))).size;
  return total;
}

export const compact: Command = {
  name: 'compact',
  summary: 'Store a pruned model folder compact: values plus a bitmask per sparse weight (compressed-tensors sparse-bitmask).',
  args: '<pruned-dir>',
  options: {
    out: { type: 'string', short: 'o', value: '<dir>', description: 'folder to write the compact model to (required; created)' },
    'max-shard-size': MAX_SHARD_SIZE_OPTION,
    pack: PACK_OPTION,
    json: { type: 'boolean', description: 'print the result as one JSON object on the last line of stdout' },
  },
  details: [
    'Every linear weight of the blocks that is smaller stored as its non-zero values, a bitmask and',
    'row offsets is written that way (compressed-tensors\' sparse-bitmask); when every such weight keeps',
    'at most 2 of every 4 values along its rows, sparse-24-bitmask is used. config.json declares the',
    'format in quantization_config.sparsity_config. eval, generate and prune read the folder like any',
    'other, to bit-identical weights. Layout and sources: docs/compact.md.',
    '',
    'With --pack the weight files are also deflated by byte plane (model.safetensors.pack, about',
    '0.7 of the bytes again); only this tool reads them, and compact without --pack unpacks a',
    'packed folder back to the compressed-tensors one, byte for byte.',
    '',
    'Example:',
    '  prune-studio compact stories260K-alps50/ --out stories260K-alps50-compact/',
    '  prune-studio compact stories260K-alps50/ --out stories260K-alps50-packed/ --pack',
  ].join('\n'),
  async run(args: ParsedArgs, ctx: CliContext): Promise<number> {
    const { options, positionals } = args;
    if (positionals.length !== 1) throw new UsageError('compact needs one model folder: compact <pruned-dir> --out <dir>');
    const dir = positionals[0];
    const out = requireString(options.out, 'out', '<dir> (where to write the compact model)');
    const maxShardSize = parseShardSize(options['max-shard-size']);
    const started = performance.now();
    const model = await openModelArg(dir);
    try {
      const created = await prepareOutDir(out, dir);
      const [{ modelFiles }, { compactWeights }, { linearWeights }] = await Promise.all([
        import('../../pipeline/export'),
        import('../../formats/compactView'),
        import('../../pipeline/compact'),
      ]);
      const present = new Set(model.folder.files());
      // The pruning report travels with the weights it describes.
      const report = present.has('prune_report.json') ? (JSON.parse(await model.folder.text('prune_report.json')) as object) : { compactedFrom: model.name };
      const reportCsv = present.has('prune_report.csv') ? await model.folder.text('prune_report.csv') : undefined;
      let files;
      try {
        files = await modelFiles(model, { weights: new Map(), metadata: {}, report, reportCsv }, { compact: true, maxShardSize, pack: options.pack === true });
        await writeFolder(out, files);
      } catch (error) {
        if (created) await removeCreated(out, created);
        throw error;
      }
      const names = files.map((f) => f.name);
      const written = await import('../../model/nodeFolder').then(({ openModelDir }) => openModelDir(out));
      const view = compactWeights(written.file);
      await written.close();
      const denseBytes = await folderBytes(dir, [...present]);
      const compactBytes = await folderBytes(out, names);
      const result: CompactReport = {
        model: dir,
        out,
        format: view?.format ?? null,
        compressed: view?.weights.size ?? 0,
        linears: linearWeights(model).size,
        denseBytes,
        compactBytes,
        ratio: compactBytes / denseBytes,
        ms: Math.round(performance.now() - started),
        files: names,
      };
      if (options.json === true) ctx.stdout(JSON.stringify(result) + '\n');
      else {
        const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
        ctx.stdout(
          result.compressed === 0
            ? `${out}: no weight is sparse enough to store compact; written dense (${mb(compactBytes)}).\n`
            : `${out}: ${result.compressed} of ${result.linears} linear weights as ${result.format}; weights ${mb(denseBytes)} → ${mb(compactBytes)} (${result.ratio.toFixed(3)}×).\n`,
        );
      }
      return EXIT_OK;
    } finally {
      await model.close();
    }
  },
};
