/**
 * `prune --resume <dir>`: a whole-model run killed (SIGKILL) or interrupted (SIGINT) after a
 * finished block continues from its checkpoint, and the continued run writes the uninterrupted
 * run's model.safetensors byte for byte; a checkpoint of other arguments, or a damaged one, is
 * refused with one line and left as it is. The bundled default model: 4 blocks of 7 linears.
 */
import type { ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, ROOT, type Run } from './helpers/cli';

const MODEL = join(ROOT, 'public', 'default-model');
const dir = readyDir();
const args = (out: string, ck?: string, extra: string[] = []) => [
  'prune', MODEL, '--calib', join(MODEL, 'calibration.txt'), '--method', 'sparsegpt', '--sparsity', '0.5',
  '--nsamples', '2', '--seqlen', '32', '--out', out, ...(ck ? ['--resume', ck] : []), '--json', ...extra,
];

function readyDir(): string {
  const d = join(tmpdir(), `prune-studio-resume-${process.pid}`);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d);
  return d;
}

/** Finished blocks the checkpoint's manifest names (0 while it is missing or being replaced). */
function savedBlocks(ck: string): number {
  try {
    return (JSON.parse(readFileSync(join(ck, 'checkpoint.json'), 'utf8')) as { blocks: unknown[] }).blocks.length;
  } catch {
    return 0;
  }
}

/** Runs the command and sends `signal` as soon as the manifest names a finished block; resolves with the run and when the signal went. */
async function stopAfterFirstBlock(a: string[], ck: string, signal: NodeJS.Signals): Promise<Run & { signalledAt: number; endedAt: number }> {
  let child: ChildProcess | null = null;
  let signalledAt = 0;
  const poll = setInterval(() => {
    if (!signalledAt && child && savedBlocks(ck) >= 1) {
      signalledAt = performance.now();
      child.kill(signal);
    }
  }, 5);
  try {
    const run = await cli(a, 60_000, (_text, c) => (child = c));
    return { ...run, signalledAt, endedAt: performance.now() };
  } finally {
    clearInterval(poll);
  }
}

const lines = (run: Run) => run.stderr.trim().split('\n');
const solvedLayers = (run: Run) => lines(run).flatMap((l) => /^layer (\d+) of 28 /.exec(l)?.[1] ?? []).map(Number);
const weights = (out: string) => readFileSync(join(out, 'model.safetensors'));

describe('prune --resume', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let reference: Buffer;

  it('an uninterrupted run prints progress with an ETA; with --resume it writes the same model and removes its checkpoint', async () => {
    const plain = await cli(args(join(dir, 'reference')));
    expect(plain.code, plain.stderr).toBe(0);
    reference = weights(join(dir, 'reference'));
    const done = lines(plain).filter((l) => l.startsWith('  ') && l.includes('layers done'));
    expect(done).toHaveLength(28);
    // Durations read "12.3 s" or, past a minute (a loaded machine), "1 min 13 s".
    const duration = '(?:\\d+ min \\d+ s|[\\d.]+ s)';
    done.forEach((l, i) => expect(l).toMatch(new RegExp(`^  ${i + 1} of 28 layers done, ${duration} elapsed, ETA ${duration}$`)));
    expect(done.at(-1)).toMatch(/ETA 0\.0 s$/);

    const ck = join(dir, 'ck-clean');
    const run = await cli(args(join(dir, 'clean'), ck));
    expect(run.code, run.stderr).toBe(0);
    expect(Buffer.compare(weights(join(dir, 'clean')), reference)).toBe(0);
    expect(existsSync(ck)).toBe(false);
  });

  it('killed (SIGKILL) after a finished block, the same command continues after it and writes the uninterrupted weights', async () => {
    const out = join(dir, 'killed');
    const ck = join(dir, 'ck-killed');
    const killed = await stopAfterFirstBlock(args(out, ck), ck, 'SIGKILL');
    expect(killed.code, killed.stderr).toBeNull();
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
    const blocks = savedBlocks(ck);
    expect(blocks).toBeGreaterThanOrEqual(1);
    expect(blocks).toBeLessThan(4);

    const resumed = await cli(args(out, ck));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(lines(resumed)).toContain(`  resuming from ${ck}: ${blocks} of 4 blocks finished (${7 * blocks} of 28 layers)`);
    // Only the layers after the checkpoint are solved again.
    expect(solvedLayers(resumed)).toEqual(Array.from({ length: 28 - 7 * blocks }, (_, i) => 7 * blocks + i + 1));
    expect(Buffer.compare(weights(out), reference)).toBe(0);
    const report = JSON.parse(resumed.stdout.trim().split('\n').at(-1)!) as { layers: unknown[] };
    expect(report.layers).toHaveLength(28);
    expect(existsSync(ck)).toBe(false);
    console.log(`SIGKILL after ${blocks} of 4 blocks; resumed run ${solvedLayers(resumed).length} layers solved, identical model.safetensors`);
  });

  it('Ctrl-C stops promptly with the checkpoint valid; other arguments and damaged files are refused with one line', async () => {
    const out = join(dir, 'interrupted');
    const ck = join(dir, 'ck-interrupted');
    const stopped = await stopAfterFirstBlock(args(out, ck), ck, 'SIGINT');
    expect(stopped.code, stopped.stderr).toBe(130);
    const answered = stopped.endedAt - stopped.signalledAt;
    expect(answered).toBeLessThan(2000);
    const blocks = savedBlocks(ck);
    expect(lines(stopped).at(-2)).toBe(`prune: ${blocks} of 4 blocks are saved in ${ck}; run the same command again to continue after them.`);
    expect(lines(stopped).at(-1)).toBe('prune-studio: error: The run was cancelled.');

    const refused = async (a: string[], expected: RegExp | string, folder = ck) => {
      const before = readdirSync(folder).sort();
      const run = await cli(a);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stdout).toBe('');
      expect(lines(run)).toHaveLength(1);
      if (typeof expected === 'string') expect(lines(run)[0]).toBe(expected);
      else expect(lines(run)[0]).toMatch(expected);
      expect(readdirSync(folder).sort()).toEqual(before);
      return lines(run)[0]!;
    };
    const other = 'differs; run the command it was made with, or give another --resume folder (or delete this one) to start over';
    await refused(args(out, ck, ['--seed', '1']), `prune-studio: error: --resume ${ck}: the checkpoint is of another run: --seed (0 there, 1 here) ${other}`);
    await refused(
      [...args(out, ck).map((a) => (a === 'sparsegpt' ? 'wanda' : a))],
      `prune-studio: error: --resume ${ck}: the checkpoint is of another run: --method (sparsegpt there, wanda here) ${other}`,
    );
    await refused(args(out, ck, ['--pattern', '2:4']).filter((a, i, all) => a !== '--sparsity' && all[i - 1] !== '--sparsity'), `prune-studio: error: --resume ${ck}: the checkpoint is of another run: --sparsity/--pattern (unstructured 50.0% there, 2:4 here) ${other}`);
    // Another model: the same shapes, one weight file of another size.
    const model2 = join(dir, 'model2');
    cpSync(MODEL, model2, { recursive: true });
    const config = JSON.parse(readFileSync(join(model2, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(model2, 'config.json'), JSON.stringify({ ...config, rms_norm_eps: 1e-6 }));
    await refused([...args(out, ck).map((a) => (a === MODEL ? model2 : a))], `prune-studio: error: --resume ${ck}: the checkpoint is of another run: the model folder (config.json) ${other}`);

    // Damaged copies of the checkpoint: a block file with one byte changed, a truncated one, a truncated manifest.
    const damaged = (name: string, harm: (path: string) => void) => {
      const copy = join(dir, `ck-${name}`);
      cpSync(ck, copy, { recursive: true });
      harm(join(copy, name === 'manifest' ? 'checkpoint.json' : 'block-0000.safetensors'));
      return copy;
    };
    const flipped = damaged('flipped', (p) => {
      const bytes = readFileSync(p);
      bytes[bytes.length - 3] ^= 0x40;
      writeFileSync(p, bytes);
    });
    const block0 = (copy: string) => `prune-studio: error: --resume ${copy}: block-0000.safetensors is damaged (its size or SHA-256 differs from checkpoint.json); delete ${copy} to start over`;
    await refused(args(out, flipped), block0(flipped), flipped);
    const truncated = damaged('truncated', (p) => truncateSync(p, 100));
    await refused(args(out, truncated), block0(truncated), truncated);
    const manifest = damaged('manifest', (p) => truncateSync(p, 40));
    await refused(args(out, manifest), `prune-studio: error: --resume ${manifest}: checkpoint.json is not valid JSON (damaged); delete ${manifest} to start over`, manifest);
    // A folder that is not a checkpoint is not taken over.
    await refused(args(out, MODEL), `prune-studio: error: --resume ${MODEL} is the input model folder; give the checkpoint a folder of its own`, MODEL);
    const foreign = join(dir, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    await refused(args(out, foreign), `prune-studio: error: --resume ${foreign}: a non-empty folder without a prune-studio checkpoint (it holds notes.txt); give a new or empty folder`, foreign);

    // The interrupted checkpoint, untouched by all of that, finishes the run.
    const resumed = await cli(args(out, ck));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(solvedLayers(resumed)[0]).toBe(7 * blocks + 1);
    expect(Buffer.compare(weights(out), reference)).toBe(0);
    console.log(`SIGINT answered in ${answered.toFixed(0)} ms with ${blocks} of 4 blocks saved; resumed to the identical model`);
  });

  it('is refused for a structured run', async () => {
    const run = await cli(['prune', MODEL, '--calib', join(MODEL, 'calibration.txt'), '--method', 'spap', '--sparsity', '0.25', '--out', join(dir, 'spap'), '--resume', join(dir, 'ck-spap')]);
    expect(run.code).toBe(2);
    expect(lines(run)).toEqual(['prune-studio: error: --resume works with the unstructured methods (alps, sparsegpt, wanda, magnitude); a spap run starts over']);
  });
});
