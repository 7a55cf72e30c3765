/**
 * `prune --method spap` end to end through the real executable: a smaller checkpoint whose
 * config.json and tensor shapes agree, that `eval` reads back; and the structured options' errors.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../src/formats/byteSource';
import { openSafetensors } from '../src/formats/safetensors';
import { BIN, ROOT } from './helpers/cli';

const MODEL = resolve(ROOT, '../shared/models/stories260K');
const TEXT = resolve(ROOT, '../shared/data/tinystories-val.txt');
const present = existsSync(MODEL) && existsSync(TEXT);
if (!present) console.warn(`Skipping the spap command test: ${MODEL} or ${TEXT} is absent.`);

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.runIf(present)('prune --method spap', () => {
  it('writes a smaller checkpoint that eval reads back', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'spap-cli-')), 'pruned');
    const r = cli(['prune', MODEL, '--calib', TEXT, '--method', 'spap', '--sparsity', '0.25', '--nsamples', '4', '--seqlen', '64', '--out', out, '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(report.intermediate).toEqual({ before: 172, after: 129 });
    expect(report.parameters.after).toBe(report.parameters.before - 5 * 43 * 3 * 64);
    expect(report.blocks).toHaveLength(5);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).intermediate_size).toBe(129);
    return openSafetensors(bytesSource(readFileSync(join(out, 'model.safetensors')), 'model.safetensors')).then((file) => {
      expect(file.tensors.get('model.layers.2.mlp.down_proj.weight')!.shape).toEqual([64, 129]);
      expect(file.tensors.get('model.layers.2.mlp.up_proj.weight')!.shape).toEqual([129, 64]);
      expect(file.tensors.get('model.layers.2.self_attn.q_proj.weight')!.shape).toEqual([64, 64]);
      const sample = join(out, '..', 'sample.txt');
      writeFileSync(sample, readFileSync(TEXT, 'utf8').slice(0, 12_000));
      const e = cli(['eval', out, '--text', sample, '--seqlen', '256', '--json', '--quiet']);
      expect(e.code, e.stderr).toBe(0);
      const ppl = JSON.parse(e.stdout.trim().split('\n').at(-1)!).perplexity;
      expect(ppl).toBeGreaterThan(1);
      expect(Number.isFinite(ppl)).toBe(true);
    });
  });

  it('refuses a pattern, an unknown selection or bad structure options in one line', () => {
    for (const [args, message] of [
      [['--pattern', '2:4'], /not --pattern/],
      [['--sparsity', '0.2', '--selection', 'random'], /--selection "random" is not one of spap, weight-norm, activation-norm/],
      [['--sparsity', '1.5'], /impossible/],
      [['--sparsity', '0.3', '--structures', 'mlp,attn'], /--structures "mlp,attn" must list mlp and\/or heads/],
      [['--mlp', '0.2', '--sparsity', '0.3'], /either --mlp\/--heads .* or --sparsity with --structures/],
      [['--heads', '1.2'], /--heads 1.2 is not a fraction in \[0, 1\)/],
      [['--mlp', '0', '--heads', '0'], /removes nothing/],
    ] as const) {
      const r = cli(['prune', MODEL, '--calib', TEXT, '--method', 'spap', ...args, '--out', join(tmpdir(), 'never-written')]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});
