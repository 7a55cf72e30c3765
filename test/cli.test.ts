import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesSource } from '../src/formats/byteSource';
import { writeLayerProblem } from '../src/formats/layerProblem';
import { openSafetensors, writeSafetensors } from '../src/formats/safetensors';
import { cli, type Run } from './helpers/cli';

let dir: string;
const path = (name: string) => join(dir, name);

/** A well-posed random problem: W (m×n) and G = XᵀX of N random rows. */
function problem(m: number, n: number, seed = 1) {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648), s / 2147483648 - 0.5);
  const rows = 4 * n;
  const X = Float64Array.from({ length: rows * n }, rnd);
  const gram = new Float32Array(n * n);
  for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) gram[i * n + j]! += X[r * n + i]! * X[r * n + j]!;
  return { m, n, weight: Float32Array.from({ length: m * n }, rnd), gram, rows };
}

/** Bytes with a header we write ourselves, so it can lie. */
function craft(header: object, dataBytes: number, claimedLength?: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(claimedLength ?? json.length), true);
  out.set(json, 8);
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'prune-studio-cli-'));
  writeFileSync(path('good.safetensors'), writeLayerProblem({ ...problem(8, 16), meta: { model: 'test', layer: 'l0' } }));
  writeFileSync(path('wide.safetensors'), writeLayerProblem(problem(24, 32, 7)));
  const nan = problem(8, 16);
  nan.weight[37] = NaN;
  writeFileSync(path('nan.safetensors'), writeLayerProblem(nan));
  const inf = problem(8, 16);
  inf.gram[5] = Infinity;
  writeFileSync(path('inf.safetensors'), writeLayerProblem(inf));
  const p = problem(8, 16);
  const tensors = (gramShape: number[], gram: Float32Array) =>
    writeSafetensors([
      { name: 'weight', dtype: 'F32', shape: [8, 16], data: p.weight },
      { name: 'gram', dtype: 'F32', shape: gramShape, data: gram },
    ]);
  writeFileSync(path('gram-not-square.safetensors'), tensors([16, 8], new Float32Array(128)));
  writeFileSync(path('gram-wrong-width.safetensors'), tensors([8, 8], new Float32Array(64)));
  writeFileSync(path('f16.safetensors'), writeSafetensors([{ name: 'weight', dtype: 'F16', shape: [2, 2], data: new Float32Array(4) }]));
  const w = { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] };
  const g = { dtype: 'F32', shape: [2, 2], data_offsets: [16, 32] };
  writeFileSync(path('header-too-long.safetensors'), craft({ weight: w, gram: g }, 32, 1_000_000));
  writeFileSync(path('header-absurd.safetensors'), craft({ weight: w, gram: g }, 32, 2 ** 40));
  writeFileSync(path('out-of-range.safetensors'), craft({ weight: w, gram: { ...g, data_offsets: [16, 4096] } }, 32));
  writeFileSync(path('overlap.safetensors'), craft({ weight: w, gram: { ...g, data_offsets: [8, 24] } }, 32));
  writeFileSync(path('dtype.safetensors'), craft({ weight: { ...w, dtype: 'Q4_K' }, gram: g }, 32));
  writeFileSync(path('shape-mismatch.safetensors'), craft({ weight: { ...w, shape: [2, 3] }, gram: g }, 32));
  writeFileSync(path('short.safetensors'), new Uint8Array([1, 2, 3]));
  writeFileSync(path('not-json.safetensors'), (() => {
    const b = craft({ weight: w }, 16);
    b[8] = 0x5b; // '[' breaks the object
    return b;
  })());
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const layer = (file: string, ...rest: string[]) => ['prune-layer', path(file), ...rest];

/** [arguments, expected exit code, pattern the one error line must match] */
const failures: [string, () => string[], number, RegExp][] = [
  ['no command', () => [], 2, /no command given/],
  ['unknown command', () => ['frobnicate'], 2, /unknown command "frobnicate"/],
  ['unknown flag', () => layer('good.safetensors', '--method', 'alps', '--sparsty', '0.5'), 2, /unknown option --sparsty \(did you mean --sparsity\?\)/],
  ['unknown method', () => layer('good.safetensors', '--method', 'obs', '--sparsity', '0.5'), 2, /unknown method "obs"/],
  ['missing method', () => layer('good.safetensors', '--sparsity', '0.5'), 2, /--method is required/],
  ['no target', () => layer('good.safetensors', '--method', 'alps'), 2, /give a target/],
  ['both targets', () => layer('good.safetensors', '--method', 'alps', '--sparsity', '0.5', '--pattern', '2:4'), 2, /either --sparsity or --pattern/],
  ['sparsity 1', () => layer('good.safetensors', '--method', 'alps', '--sparsity', '1'), 2, /--sparsity 1 is impossible/],
  ['negative sparsity', () => layer('good.safetensors', '--method', 'alps', '--sparsity', '-0.2'), 2, /--sparsity -0.2 is impossible/],
  ['sparsity garbage', () => layer('good.safetensors', '--method', 'alps', '--sparsity', 'lots'), 2, /--sparsity "lots" is not a number/],
  ['pattern garbage', () => layer('good.safetensors', '--method', 'alps', '--pattern', '2:x'), 2, /--pattern "2:x" is not of the form N:M/],
  ['pattern N ≥ M', () => layer('good.safetensors', '--method', 'wanda', '--pattern', '4:2'), 2, /--pattern 4:2 is impossible/],
  ['pattern N < 1', () => layer('good.safetensors', '--method', 'wanda', '--pattern', '0:4'), 2, /--pattern 0:4 is impossible/],
  ['pattern M not dividing n', () => layer('good.safetensors', '--method', 'magnitude', '--pattern', '2:5'), 1, /2:5 pattern needs the input width to be a multiple of 5.*8×16/],
  ['flag without value', () => layer('good.safetensors', '--sparsity', '0.5', '--method'), 2, /option --method needs a value/],
  ['two files', () => [...layer('good.safetensors', '--method', 'alps', '--sparsity', '0.5'), path('wide.safetensors')], 2, /takes one problem file/],
  ['missing file', () => layer('absent.safetensors', '--method', 'alps', '--sparsity', '0.5'), 1, /cannot open .*absent\.safetensors: no such file or directory/],
  ['a directory', () => ['prune-layer', dir, '--method', 'alps', '--sparsity', '0.5'], 1, /cannot open .*: not a regular file/],
  ['file too short', () => layer('short.safetensors', '--method', 'alps', '--sparsity', '0.5'), 1, /short\.safetensors: the file is 3 bytes/],
  ['header length past the end', () => layer('header-too-long.safetensors', '--method', 'alps', '--sparsity', '0.5'), 1, /header length 1000000 is larger than the rest of the file/],
  ['absurd header length', () => layer('header-absurd.safetensors', '--method', 'alps', '--sparsity', '0.5'), 1, /header length 1099511627776 is absurd/],
  ['header not a JSON object', () => layer('not-json.safetensors', '--method', 'alps', '--sparsity', '0.5'), 1, /not valid JSON|not a JSON object/],
  ['offsets out of range', () => layer('out-of-range.safetensors', '--method', 'alps', '--sparsity', '0.5'), 1, /tensor "gram" data_offsets \[16, 4096\] run past the end/],
  ['overlapping tensors', () => layer('overlap.safetensors', '--method', 'alps', '--sparsity', '0.5'), 1, /"weight" \[0, 16\] and "gram" \[8, 24\] overlap/],
  ['unknown dtype', () => layer('dtype.safetensors', '--method', 'alps', '--sparsity', '0.5'), 1, /tensor "weight" has unknown dtype "Q4_K"/],
  ['shape ≠ byte size', () => layer('shape-mismatch.safetensors', '--method', 'alps', '--sparsity', '0.5'), 1, /"weight" holds 16 bytes but dtype F32 with shape \[2,3\] needs 24/],
  ['wrong dtype', () => layer('f16.safetensors', '--method', 'alps', '--sparsity', '0.5'), 1, /tensor "weight" has dtype F16, expected F32/],
  ['gram not square', () => layer('gram-not-square.safetensors', '--method', 'alps', '--sparsity', '0.5'), 1, /gram has shape \[16,8\], it must be square/],
  ['gram not the weight width', () => layer('gram-wrong-width.safetensors', '--method', 'alps', '--sparsity', '0.5'), 1, /gram is 8×8 but the weight is 8×16/],
  ['NaN in the weight', () => layer('nan.safetensors', '--method', 'alps', '--sparsity', '0.5'), 1, /"weight" has a non-finite value \(NaN\) at index 37/],
  ['Inf in the gram', () => layer('inf.safetensors', '--method', 'alps', '--sparsity', '0.5'), 1, /"gram" has a non-finite value \(Infinity\) at index 5/],
  ['unwritable output', () => layer('good.safetensors', '--method', 'magnitude', '--sparsity', '0.5', '--out', '/nonexistent-dir/x.safetensors'), 1, /cannot write \/nonexistent-dir\/x\.safetensors/],
];

describe('prune-studio fails with one line', () => {
  // Spawned a few at a time: each is a short Node start, and the machine has two cores.
  it('for every bad command line and hostile input', async () => {
    const results: Run[] = [];
    for (let i = 0; i < failures.length; i += 3) {
      results.push(...(await Promise.all(failures.slice(i, i + 3).map(([, args]) => cli(args())))));
    }
    failures.forEach(([label, , code, pattern], i) => {
      const r = results[i]!;
      const lines = r.stderr.split('\n').filter((l) => l.length > 0);
      expect(lines, `${label}: stderr was ${JSON.stringify(r.stderr)}`).toHaveLength(1);
      expect(lines[0], label).toMatch(/^prune-studio: error: /);
      expect(lines[0], label).toMatch(pattern);
      expect(r.stderr, label).not.toMatch(/^\s+at /m);
      expect(r.code, `${label}: exit code`).toBe(code);
      expect(r.stdout, label).toBe('');
    });
  });
});

describe('prune-studio help', () => {
  it('lists the commands and each command’s options', async () => {
    const [general, command] = await Promise.all([cli(['--help']), cli(['prune-layer', '--help'])]);
    expect(general.code).toBe(0);
    expect(general.stdout).toMatch(/prune-layer/);
    expect(command.code).toBe(0);
    for (const flag of ['--method', '--sparsity', '--pattern', '--out', '--json']) expect(command.stdout).toContain(flag);
    expect(general.stderr + command.stderr).toBe('');
  });
});

describe('prune-studio prune-layer runs', () => {
  it('prunes with ALPS, prints JSON last and writes the pruned weight', async () => {
    const out = path('pruned.safetensors');
    const r = await cli(layer('wide.safetensors', '--method', 'alps', '--sparsity', '0.5', '--json', '--out', out), 300_000);
    expect(r.code, r.stderr).toBe(0);
    const last = r.stdout.trim().split('\n').pop()!;
    const report = JSON.parse(last) as Record<string, unknown> & { history: Record<string, unknown>[] };
    expect(report).toMatchObject({ method: 'alps', pattern: 'unstructured', m: 24, n: 32 });
    const nnz = report.nnz as number;
    expect(nnz).toBeLessThanOrEqual(Math.round(0.5 * 24 * 32));
    expect(nnz).toBeGreaterThan(0);
    expect(report.sparsity).toBeCloseTo(1 - nnz / (24 * 32), 12);
    expect(report.relError as number).toBeGreaterThan(0);
    expect(report.relError as number).toBeLessThan(1);
    expect(report.iterations as number).toBeGreaterThanOrEqual(1);
    expect(typeof report.ms).toBe('number');
    expect(report.history.length).toBeGreaterThan(0);
    for (const h of report.history) expect(Object.keys(h).sort()).toEqual(['iter', 'relError', 'rho', 'supportChange']);

    const file = await openSafetensors(bytesSource(readFileSync(out), 'pruned.safetensors'));
    expect(file.info('weight')).toMatchObject({ dtype: 'F32', shape: [24, 32] });
    const w = await file.readF32('weight');
    expect(w.filter((v) => v !== 0).length).toBe(nnz);
    expect(file.metadata.method).toBe('alps');
  });

  it('prunes 2:4 with magnitude and prints a readable summary', async () => {
    const out = path('nm.safetensors');
    const r = await cli(layer('good.safetensors', '--method', 'magnitude', '--pattern', '2:4', '--out', out), 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/kept 64 of 128 weights/);
    expect(r.stdout).toMatch(/relative error/);
    const w = await (await openSafetensors(bytesSource(readFileSync(out), 'nm.safetensors'))).readF32('weight');
    for (let g = 0; g < w.length; g += 4) expect(Array.from(w.subarray(g, g + 4)).filter((v) => v !== 0).length).toBeLessThanOrEqual(2);
  });
});
