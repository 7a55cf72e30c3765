/**
 * `node bin/run-ts.mjs scripts/bench-compact.ts [--shape smollm-135m] [--dtype bf16] [--blocks N]`
 *
 * Compact sparse checkpoints at real size: writes a random-init checkpoint of the shape
 * (scripts/bench-model.ts), prunes every linear by magnitude on the CPU at 50 % (per row) and 2:4,
 * and for each writes the dense export, the compact one and the compact one packed (pipeline/export.ts
 * modelFiles, streamed to disk), converts the dense folder as `prune-studio compact` does, then reads
 * every tensor of the three folders back (bit-identical check). Prints bytes, ratios and times. Timings on a shared
 * machine are upper bounds; the ratios are exact.
 */
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactWeights } from '../src/formats/compactView';
import type { OpenedModel } from '../src/model/loader';
import { openModelDir } from '../src/model/nodeFolder';
import { modelFiles, type ExportFile, type ModelEdits } from '../src/pipeline/export';
import { magnitudePrune } from '../test/helpers/magnitude';
import { SHAPES, writeCheckpoint } from './bench-model';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function writeFiles(dir: string, files: readonly ExportFile[]): Promise<number> {
  mkdirSync(dir, { recursive: true });
  let total = 0;
  for (const f of files) {
    const stream = createWriteStream(join(dir, f.name));
    await f.write({ write: (chunk) => new Promise<void>((resolve, reject) => stream.write(chunk, (e) => (e ? reject(e) : resolve()))) });
    await new Promise<void>((resolve) => stream.end(resolve));
    total += statSync(join(dir, f.name)).size;
  }
  return total;
}

const weightBytes = (dir: string, files: readonly ExportFile[]) => files.filter((f) => /\.safetensors(\.pack)?$/.test(f.name)).reduce((n, f) => n + statSync(join(dir, f.name)).size, 0);

/** Magnitude pruning per output row: half of each row, or 2 of every 4 inputs. */
async function magnitudeEdits(model: OpenedModel, rule: '50%' | '2:4'): Promise<ModelEdits> {
  const weights = new Map<string, Float32Array>();
  for (const block of model.arch.blocks) {
    for (const spec of block.linears) {
      const w = await model.weights.readF32(spec.weight);
      weights.set(spec.weight, magnitudePrune(w, spec.out, spec.in, rule === '50%' ? { sparsity: 0.5, per: 'row' } : { n: 2, m: 4 }));
    }
  }
  return { weights, metadata: { method: 'magnitude', pattern: rule }, report: { rule } };
}

/** Reads every tensor of both folders; returns the seconds each took and whether every byte agreed. */
async function readBack(denseDir: string, compactDir: string): Promise<{ denseS: number; compactS: number; identical: boolean; format: string; compressed: number }> {
  const dense = await openModelDir(denseDir);
  const compact = await openModelDir(compactDir);
  let denseMs = 0;
  let compactMs = 0;
  let identical = true;
  for (const name of dense.file.tensors.keys()) {
    let t0 = performance.now();
    const a = await dense.file.readRaw(name);
    denseMs += performance.now() - t0;
    t0 = performance.now();
    const b = await compact.file.readRaw(name);
    compactMs += performance.now() - t0;
    if (!Buffer.from(a).equals(Buffer.from(b))) identical = false;
  }
  const view = compactWeights(compact.file);
  await dense.close();
  await compact.close();
  return { denseS: denseMs / 1000, compactS: compactMs / 1000, identical, format: view?.format ?? 'none', compressed: view?.weights.size ?? 0 };
}

async function main(): Promise<void> {
  const shape = arg('shape') ?? 'smollm-135m';
  const dtype = arg('dtype') ?? 'bf16';
  const blocks = Number(arg('blocks') ?? SHAPES[shape].layers);
  const root = mkdtempSync(join(tmpdir(), 'bench-compact-'));
  try {
    const input = join(root, 'input');
    mkdirSync(input);
    const { parameters } = writeCheckpoint(input, shape, blocks, dtype, 1);
    console.log(`${shape} (${blocks} blocks, ${dtype}), ${(parameters / 1e6).toFixed(1)}M parameters, random init`);
    const rows: string[] = [
      '| pruning | dense weights | compact weights | ratio | pruned linears only | format | packed weights | ratio | write dense / compact / packed s | convert s | read dense / compact / packed s | identical |',
      '|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|',
    ];
    for (const rule of ['50%', '2:4'] as const) {
      const model = await openModelDir(input);
      const edits = await magnitudeEdits(model, rule);
      const denseDir = join(root, `dense-${rule.replace(/\W/g, '')}`);
      const compactDir = join(root, `compact-${rule.replace(/\W/g, '')}`);
      let t0 = performance.now();
      const denseFiles = await modelFiles(model, edits);
      await writeFiles(denseDir, denseFiles);
      const writeDense = (performance.now() - t0) / 1000;
      t0 = performance.now();
      const compactFiles = await modelFiles(model, edits, { compact: true });
      await writeFiles(compactDir, compactFiles);
      const writeCompact = (performance.now() - t0) / 1000;
      const packedDir = join(root, `packed-${rule.replace(/\W/g, '')}`);
      t0 = performance.now();
      const packedFiles = await modelFiles(model, edits, { compact: true, pack: true });
      await writeFiles(packedDir, packedFiles);
      const writePacked = (performance.now() - t0) / 1000;
      // Linear bytes alone: the dense bytes of the linears against the compact parts written for them.
      let linearDense = 0;
      for (const w of edits.weights.values()) linearDense += w.length * (dtype === 'f32' ? 4 : 2);
      await model.close();
      // `prune-studio compact` on the dense folder: read from disk, written compact.
      t0 = performance.now();
      const pruned = await openModelDir(denseDir);
      const converted = join(root, `converted-${rule.replace(/\W/g, '')}`);
      await writeFiles(converted, await modelFiles(pruned, { weights: new Map(), metadata: {}, report: {} }, { compact: true }));
      await pruned.close();
      const convert = (performance.now() - t0) / 1000;
      const back = await readBack(denseDir, compactDir);
      const packedBack = await readBack(denseDir, packedDir);
      const d = weightBytes(denseDir, denseFiles);
      const c = weightBytes(compactDir, compactFiles);
      const p = weightBytes(packedDir, packedFiles);
      const embedDense = d - linearDense;
      const linearCompact = c - embedDense;
      rows.push(
        `| ${rule} | ${(d / 1e6).toFixed(1)} MB | ${(c / 1e6).toFixed(1)} MB | ${(c / d).toFixed(3)} | ${(linearCompact / linearDense).toFixed(3)} | ${back.format} (${back.compressed} weights) | ${(p / 1e6).toFixed(1)} MB | ${(p / d).toFixed(3)} | ${writeDense.toFixed(1)} / ${writeCompact.toFixed(1)} / ${writePacked.toFixed(1)} | ${convert.toFixed(1)} | ${back.denseS.toFixed(1)} / ${back.compactS.toFixed(1)} / ${packedBack.compactS.toFixed(1)} | ${back.identical && packedBack.identical} |`,
      );
      for (const dir of [denseDir, compactDir, packedDir, converted]) rmSync(dir, { recursive: true, force: true });
    }
    console.log(rows.join('\n'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

void main();
