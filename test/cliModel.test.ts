/**
 * The `prune` and `eval` commands end to end, through the real executable: hostile model folders
 * and bad arguments each end in one line naming the file and the problem (no stack trace, no hang),
 * and a small real run on stories260K writes a folder that `eval` reads back.
 * Every damaged copy lives in a temporary folder, never in the repository or ../shared.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesSource } from '../src/formats/byteSource';
import { openSafetensors } from '../src/formats/safetensors';
import { cli, ROOT, type Run } from './helpers/cli';
const shared = resolve(ROOT, '../shared');
const MODEL = join(shared, 'models/stories260K');
const TEXT = join(shared, 'data/tinystories-val.txt');
const present = existsSync(join(MODEL, 'model.safetensors')) && existsSync(join(MODEL, 'tokenizer.json')) && existsSync(TEXT);
if (!present) console.warn(`Skipping prune/eval command tests: ${MODEL} or ${TEXT} is absent (they live in ../shared).`);

let dir: string;
const at = (...parts: string[]) => join(dir, ...parts);

/** A writable copy of stories260K under the temp folder, changed by `edit`. */
function copyModel(name: string, edit?: (folder: string) => void): string {
  const folder = at(name);
  mkdirSync(folder);
  for (const f of readdirSync(MODEL)) writeFileSync(join(folder, f), readFileSync(join(MODEL, f)));
  edit?.(folder);
  return folder;
}

/** The safetensors header of `bytes` as JSON, and where its data starts. */
function header(bytes: Uint8Array): { json: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>; dataStart: number } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { json: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))), dataStart: 8 + length };
}

/** The same data under a rewritten header. */
function withHeader(bytes: Uint8Array, json: object, dataStart: number): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(json));
  const out = new Uint8Array(8 + text.length + bytes.length - dataStart);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(bytes.subarray(dataStart), 8 + text.length);
  return out;
}

const editJson = (file: string, change: (json: Record<string, unknown>) => void) => {
  const json = JSON.parse(readFileSync(file, 'utf8'));
  change(json);
  writeFileSync(file, JSON.stringify(json));
};

beforeAll(() => {
  if (!present) return;
  dir = mkdtempSync(join(tmpdir(), 'prune-studio-model-'));
  mkdirSync(at('empty'));
  copyModel('unsupported', (f) => editJson(join(f, 'config.json'), (c) => (c.model_type = 'bert')));
  copyModel('config-not-json', (f) => writeFileSync(join(f, 'config.json'), '{"model_type": "llama",'));
  copyModel('truncated', (f) => {
    const bytes = readFileSync(join(f, 'model.safetensors'));
    writeFileSync(join(f, 'model.safetensors'), bytes.subarray(0, Math.floor(bytes.length / 2)));
  });
  copyModel('header-gigabytes', (f) => {
    const bytes = readFileSync(join(f, 'model.safetensors'));
    new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(0, 5_000_000_000n, true);
    writeFileSync(join(f, 'model.safetensors'), bytes);
  });
  copyModel('offsets-past-end', (f) => {
    const bytes = new Uint8Array(readFileSync(join(f, 'model.safetensors')));
    const { json, dataStart } = header(bytes);
    const t = json['model.norm.weight']!;
    t.data_offsets = [t.data_offsets[0], t.data_offsets[0] + 4 * 2 ** 30];
    t.shape = [2 ** 30];
    writeFileSync(join(f, 'model.safetensors'), withHeader(bytes, json, dataStart));
  });
  copyModel('config-mismatch', (f) => editJson(join(f, 'config.json'), (c) => (c.hidden_size = 128)));
  copyModel('tokenizer-too-big', (f) =>
    editJson(join(f, 'tokenizer.json'), (t) => {
      const added = t.added_tokens as object[];
      for (let id = 512; id < 600; id++) added.push({ id, content: `<extra_${id}>`, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    }),
  );
  writeFileSync(at('short.txt'), 'Once upon a time there was a cat.');
  writeFileSync(at('calib.txt'), readFileSync(TEXT, 'utf8').slice(0, 60_000));
  // The held-out evaluation text of the success case: the end of the file, away from the calibration part.
  const text = readFileSync(TEXT, 'utf8');
  writeFileSync(at('eval.txt'), text.slice(text.length - 6_000));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A `prune` command line on `model`; `changes` replaces options (null drops one). */
function prune(model: string, changes: Record<string, string | null> = {}): string[] {
  const options: Record<string, string | null> = { calib: TEXT, method: 'magnitude', sparsity: '0.5', out: at('out-never'), ...changes };
  return ['prune', model, ...Object.entries(options).flatMap(([name, value]) => (value === null ? [] : [`--${name}`, value]))];
}

/** [label, arguments, exit code, what the one error line must say] */
const failures: [string, () => string[], number, RegExp][] = [
  ['missing folder', () => prune(at('absent')), 1, /cannot open .*absent: no such file or directory/],
  ['a file, not a folder', () => prune(at('short.txt')), 1, /cannot open .*short\.txt: not a folder/],
  ['folder without config.json', () => prune(at('empty')), 1, /empty: no config\.json/],
  ['unsupported model_type', () => prune(at('unsupported')), 1, /unsupported\/config\.json: Unsupported model_type "bert"/],
  ['config.json not JSON', () => prune(at('config-not-json')), 1, /config-not-json\/config\.json is not valid JSON/],
  ['truncated model.safetensors', () => prune(at('truncated')), 1, /truncated\/model\.safetensors: tensor ".*" data_offsets \[\d+, \d+\] run past the end of the data/],
  ['header claiming gigabytes', () => prune(at('header-gigabytes')), 1, /header-gigabytes\/model\.safetensors: header length 5000000000 is absurd/],
  ['offsets past the end', () => prune(at('offsets-past-end')), 1, /offsets-past-end\/model\.safetensors: tensor "model\.norm\.weight" data_offsets \[\d+, \d+\] run past the end/],
  ['config does not match the tensors', () => prune(at('config-mismatch')), 1, /config-mismatch\/model\.safetensors: Tensor model\.embed_tokens\.weight has shape \[512, 64\], but config\.json implies \[512, 128\]/],
  ['tokenizer vocabulary larger than vocab_size', () => prune(at('tokenizer-too-big')), 1, /tokenizer-too-big\/tokenizer\.json: The tokenizer has 600 tokens but the model's vocab_size is 512/],
  ['calibration text too short', () => prune(MODEL, { calib: at('short.txt'), seqlen: '64' }), 1, /short\.txt has \d+ tokens, fewer than one calibration window of 64/],
  ['calibration file missing', () => prune(MODEL, { calib: at('nope.txt') }), 1, /cannot read .*nope\.txt: no such file or directory/],
  ['--seqlen not a number', () => prune(MODEL, { seqlen: 'long' }), 2, /--seqlen "long" is not a whole number/],
  ['--seqlen 0', () => prune(MODEL, { seqlen: '0' }), 2, /--seqlen 0 is too small/],
  ['--seqlen beyond the context', () => prune(MODEL, { seqlen: '4096' }), 1, /--seqlen 4096 is longer than the context of .*stories260K \(2048 tokens\)/],
  ['--nsamples fractional', () => prune(MODEL, { nsamples: '2.5' }), 2, /--nsamples "2\.5" is not a whole number/],
  ['pattern does not fit a layer', () => prune(MODEL, { sparsity: null, pattern: '4:8' }), 1, /4:8 pattern needs the input width to be a multiple of 8, but model\.layers\.0\.mlp\.down_proj .* is 64×172/],
  ['output is the input folder', () => prune(MODEL, { out: MODEL }), 1, /--out .*stories260K is the input model folder/],
  ['no --out', () => prune(MODEL, { out: null }), 2, /--out <dir> .* is required/],
  ['output is a file', () => prune(MODEL, { out: at('short.txt') }), 1, /cannot write .*short\.txt: it exists and is not a folder/],
  ['output under a file', () => prune(MODEL, { out: at('short.txt', 'pruned') }), 1, /cannot create .*short\.txt\/pruned: .*short\.txt is not a folder/],
  ['two model folders', () => [...prune(MODEL), MODEL], 2, /prune takes one model folder, got 2/],
  ['eval: text too short', () => ['eval', MODEL, '--text', at('short.txt'), '--seqlen', '64'], 1, /short\.txt has \d+ tokens, fewer than one window of 64/],
  ['eval: --seqlen 1', () => ['eval', MODEL, '--text', TEXT, '--seqlen', '1'], 2, /--seqlen 1 is too small/],
  ['eval: damaged weights', () => ['eval', at('truncated'), '--text', TEXT], 1, /truncated\/model\.safetensors: .* run past the end/],
  ['eval: no --text', () => ['eval', MODEL], 2, /--text <file> .* is required/],
];

describe.skipIf(!present)('prune and eval fail with one line', () => {
  it('for every hostile model folder and bad argument', async () => {
    const results: Run[] = [];
    // A few at a time: each is a Node start compiling TypeScript, and the machine has two cores.
    for (let i = 0; i < failures.length; i += 3) {
      results.push(...(await Promise.all(failures.slice(i, i + 3).map(([, args]) => cli(args())))));
    }
    failures.forEach(([label, , code, pattern], i) => {
      const r = results[i]!;
      const lines = r.stderr.trimEnd().split('\n');
      const context = `${label}: exit ${r.code}, stderr:\n${r.stderr}`;
      expect(r.code, context).toBe(code);
      expect(lines, context).toHaveLength(1);
      expect(lines[0], context).toMatch(/^prune-studio: error: /);
      expect(lines[0], context).toMatch(pattern);
      expect(r.stderr, context).not.toMatch(/\n\s+at |Error:/);
      expect(r.stdout, context).toBe('');
    });
    expect(existsSync(at('out-never'))).toBe(false);
  });
});

describe.skipIf(!present)('prune and eval on stories260K', () => {
  it('prunes with magnitude and ALPS at 50 %, writes a folder eval reads back', async () => {
    const started = performance.now();
    const runPrune = async (method: string) => {
      const out = at(`pruned-${method}`);
      const r = await cli(['prune', MODEL, '--calib', at('calib.txt'), '--method', method, '--sparsity', '50%', '--nsamples', '4', '--seqlen', '64', '--out', out, '--json'], 400_000);
      expect(r.code, r.stderr).toBe(0);
      return { out, r };
    };
    const dense = await cli(['eval', MODEL, '--text', at('eval.txt'), '--seqlen', '128', '--json'], 120_000);
    expect(dense.code, dense.stderr).toBe(0);
    const denseReport = JSON.parse(dense.stdout.trimEnd().split('\n').pop()!);

    for (const method of ['magnitude', 'alps']) {
      const { out, r } = await runPrune(method);
      const report = JSON.parse(r.stdout.trimEnd().split('\n').pop()!);
      expect(report.method).toBe(method);
      expect(report.pattern).toBe('unstructured');
      expect(report.out).toBe(out);
      expect(report.layers).toHaveLength(35);
      for (const layer of report.layers) {
        const [m, n] = layer.shape;
        expect(Math.round(layer.sparsity * m * n)).toBe(m * n - Math.round(0.5 * m * n));
        expect(layer.relError).toBeGreaterThan(0);
        expect(layer.history).toBeUndefined();
      }
      if (method === 'alps') for (const layer of report.layers) expect(layer.relError).toBeLessThanOrEqual(layer.relErrorBeforeRefit * (1 + 1e-6));
      // Progress went to stderr, one line per layer.
      expect(r.stderr).toMatch(/^layer 1 of 35 model\.layers\.0\.self_attn\.q_proj /m);
      expect(r.stderr).toMatch(/^layer 35 of 35 model\.layers\.4\.mlp\.down_proj /m);

      // The folder: the same tensors, dtypes and shapes as the input; config and tokenizer copied.
      const files = readdirSync(out).sort();
      expect(files).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'prune_report.csv', 'prune_report.json', 'tokenizer.json', 'tokenizer_config.json']);
      const before = await openSafetensors(bytesSource(new Uint8Array(readFileSync(join(MODEL, 'model.safetensors')))));
      const after = await openSafetensors(bytesSource(new Uint8Array(readFileSync(join(out, 'model.safetensors')))));
      expect([...after.tensors.keys()].sort()).toEqual([...before.tensors.keys()].sort());
      for (const [name, t] of before.tensors) {
        expect(after.tensors.get(name)!.dtype).toBe(t.dtype);
        expect(after.tensors.get(name)!.shape).toEqual(t.shape);
      }
      expect(readFileSync(join(out, 'tokenizer.json'), 'utf8')).toBe(readFileSync(join(MODEL, 'tokenizer.json'), 'utf8'));
      expect(JSON.parse(readFileSync(join(out, 'prune_report.json'), 'utf8')).layers).toHaveLength(35);
      // One CSV row per layer after the header, with the health columns filled.
      const csv = readFileSync(join(out, 'prune_report.csv'), 'utf8').trim().split('\n');
      expect(csv).toHaveLength(36);
      expect(csv[0]).toContain('dead_inputs,rows,rank_deficient');
      expect(csv[1]!.split(',')).toHaveLength(csv[0]!.split(',').length);

      const ev = await cli(['eval', out, '--text', at('eval.txt'), '--seqlen', '128', '--json'], 120_000);
      expect(ev.code, ev.stderr).toBe(0);
      const e = JSON.parse(ev.stdout.trimEnd().split('\n').pop()!);
      expect(e.windows).toBe(denseReport.windows);
      expect(e.tokens).toBe(e.windows * 128);
      expect(e.predicted).toBe(e.windows * 127);
      expect(Number.isFinite(e.perplexity)).toBe(true);
      expect(e.perplexity).toBeGreaterThan(denseReport.perplexity);
      expect(ev.stderr).toMatch(/window \d+ of \d+, running perplexity/);
      console.log(`cli ${method} 50 %: eval perplexity ${e.perplexity.toFixed(3)} (dense ${denseReport.perplexity.toFixed(3)}), ${e.windows} windows of 128`);
    }

    // A second run into an earlier output folder is allowed; into someone else's folder is not.
    const other = at('someone-else');
    mkdirSync(other);
    writeFileSync(join(other, 'notes.txt'), 'mine');
    const refused = await cli(['prune', MODEL, '--calib', at('calib.txt'), '--method', 'magnitude', '--sparsity', '0.5', '--out', other]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/someone-else is a non-empty folder that prune-studio did not write/);
    console.log(`cli success cases: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }, 900_000);

  it('stops cleanly on Ctrl-C, with exit code 130 and nothing written', async () => {
    const out = at('interrupted');
    let sent = false;
    const r = await cli(
      ['prune', MODEL, '--calib', at('calib.txt'), '--method', 'alps', '--sparsity', '0.5', '--nsamples', '2', '--seqlen', '32', '--out', out],
      120_000,
      (stderr, child) => {
        if (!sent && /^layer 2 of 35/m.test(stderr)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    );
    expect(sent).toBe(true);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr.trimEnd().split('\n').pop()).toMatch(/^prune-studio: error: .*cancelled/);
    expect(existsSync(out)).toBe(false);
  }, 180_000);
});
