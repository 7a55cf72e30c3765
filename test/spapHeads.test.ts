/**
 * SPAP over attention heads (issue 16) against Hugging Face transformers: for every family that can
 * lose heads, a tiny checkpoint written by transformers (scripts/oracle/make_checkpoints.py) is pruned
 * by `prune-studio prune --method spap` removing key/value groups (and MLP channels); the export loads
 * in AutoModelForCausalLM with no missing, unexpected or mismatched key, config.json's head counts and
 * head_dim match the tensors, and transformers' perplexity is the one `prune-studio eval` prints, to
 * 1e-4. GPT-2 and OPT (head_dim derived from hidden/heads) and a single key/value group are refused
 * in one line.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ROOT } from './helpers/cli';
import { makeCheckpoints, oraclePython, relDiff, transformersEval, type MadeCheckpoint } from './helpers/oracle';
import { CHANNEL_ALIGN } from '../src/solvers/spap';

const SHARED = resolve(ROOT, '../shared');
const TOKENIZER = join(SHARED, 'models/stories260K');
const TEXT = join(SHARED, 'data/tinystories-val.txt');
const SEQLEN = 64;
const WINDOWS = 8;
/** Families with heads removable, and the refused ones. */
const HEADS = ['llama', 'mistral', 'qwen3', 'gemma3', 'phi3'];
const REFUSED = ['gpt2', 'opt', 'qwen2'];

let dir: string;
let calibText: string;
let evalText: string;
const made = new Map<string, MadeCheckpoint>();
const table: string[] = [];
/** The parts of `prune --json`'s structured report this test reads. */
interface Report {
  kvGroups: { before: number; after: number };
  attentionHeads: { before: number; after: number };
  parameters: { before: number; after: number };
  headBlocks: { kept: number[] }[];
  budget?: { blockTarget: number; blockRemoved: number };
}
const lastJson = <T>(stdout: string) => JSON.parse(stdout.trimEnd().split('\n').pop()!) as T;

beforeAll(async () => {
  oraclePython();
  dir = mkdtempSync(join(tmpdir(), 'spap-heads-oracle-'));
  const text = readFileSync(TEXT, 'utf8');
  calibText = join(dir, 'calib.txt');
  evalText = join(dir, 'eval.txt');
  writeFileSync(calibText, text.slice(200_000, 230_000));
  writeFileSync(evalText, text.slice(text.length - 6_000));
  for (const m of await makeCheckpoints({ out: join(dir, 'models'), tokenizer: TOKENIZER, trainText: TEXT, names: [...HEADS, ...REFUSED], steps: 20 })) made.set(m.name, m);
}, 600_000);

afterAll(() => {
  if (table.length) console.log(['SPAP heads, transformers oracle (perplexity: prune-studio eval vs transformers):', ...table].join('\n'));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const prune = (name: string, out: string, args: string[]) =>
  cli(['prune', made.get(name)!.folder, '--calib', calibText, '--method', 'spap', ...args, '--nsamples', '4', '--seqlen', String(SEQLEN), '--out', out, '--json', '--quiet'], 300_000);

describe('SPAP heads against transformers', () => {
  it('exports with key/value groups removed load in transformers with the perplexity eval prints', async () => {
    const outs: { name: string; label: string; folder: string; report: Report; ppl: number }[] = [];
    // The separate fractions on every family, and one budget split by measured cost (which may keep every head).
    const runs = [...HEADS.map((name) => ({ name, args: ['--mlp', '0.25', '--heads', '0.5'] })), { name: 'llama', args: ['--sparsity', '0.3', '--structures', 'mlp,heads'] }];
    for (const [i, { name, args }] of runs.entries()) {
      const folder = join(dir, 'pruned', `${name}-${i}`);
      const r = await prune(name, folder, args);
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      const e = await cli(['eval', folder, '--text', evalText, '--seqlen', String(SEQLEN), '--max-windows', String(WINDOWS), '--json', '--quiet'], 120_000);
      expect(e.code, e.stderr).toBe(0);
      outs.push({ name, label: args.join(' '), folder, report: lastJson<Report>(r.stdout), ppl: lastJson<{ perplexity: number }>(e.stdout).perplexity });
    }
    const hf = await transformersEval(outs.map((o) => o.folder), { text: evalText, seqlen: SEQLEN, maxWindows: WINDOWS, load: true });
    outs.forEach((o, i) => {
      expect(hf[i]!.error, `${o.name}: transformers cannot load or run the export`).toBeUndefined();
      const load = hf[i]!.load!;
      const problems = Object.fromEntries(Object.entries(load.info).filter(([, v]) => Array.isArray(v) && v.length > 0));
      expect(problems, `${o.name}: from_pretrained's loading info`).toEqual({});
      const { kvGroups, attentionHeads } = o.report;
      if (o.report.budget) {
        const { blockTarget, blockRemoved } = o.report.budget;
        const hidden = JSON.parse(readFileSync(join(o.folder, 'config.json'), 'utf8')).hidden_size;
        // Rounded to whole channels, the kept width to a multiple of CHANNEL_ALIGN where the width is
        // one: within half an alignment step of channels (each: gate, up and down, 3·hidden parameters).
        // (The kept width is a multiple of the step whenever the dense one is.)
        const width = JSON.parse(readFileSync(join(o.folder, 'config.json'), 'utf8')).intermediate_size;
        const step = width % CHANNEL_ALIGN === 0 ? CHANNEL_ALIGN : 1;
        expect(Math.abs(blockRemoved - blockTarget), `${o.name}: the budget is met to half an alignment step`).toBeLessThanOrEqual((step / 2 + 0.5) * 3 * hidden);
      } else {
        expect(kvGroups.after, o.name).toBe(kvGroups.before / 2);
      }
      const config = JSON.parse(readFileSync(join(o.folder, 'config.json'), 'utf8'));
      expect(config.num_attention_heads, o.name).toBe(attentionHeads.after);
      expect(config.num_key_value_heads, o.name).toBe(kvGroups.after);
      const oProj = Object.entries(load.linears).find(([k]) => /layers\.0\.self_attn\.o_proj\.weight$/.test(k))![1];
      expect(oProj.shape[1], `${o.name}: o_proj keeps heads × head_dim columns`).toBe(attentionHeads.after * config.head_dim);
      expect(o.report.headBlocks.every((b) => b.kept.length === kvGroups.after), o.name).toBe(true);
      const d = relDiff(o.ppl, hf[i]!.perplexity);
      expect(d, `${o.name}: prune-studio eval ${o.ppl} vs transformers ${hf[i]!.perplexity}`).toBeLessThanOrEqual(1e-4);
      table.push(`  ${o.name.padEnd(8)} ${o.label.padEnd(34)} heads ${attentionHeads.before}→${attentionHeads.after} kv ${kvGroups.before}→${kvGroups.after} params ${o.report.parameters.before}→${o.report.parameters.after}  ${o.ppl.toFixed(6)} vs ${hf[i]!.perplexity.toFixed(6)} rel ${d.toExponential(2)}`);
    });
  }, 1_800_000);

  it('refuses families that cannot lose heads, in one line', async () => {
    for (const [name, message] of [
      ['gpt2', /GPT-2 checkpoints cannot lose attention heads/],
      ['opt', /OPT checkpoints cannot lose attention heads/],
      ['qwen2', /rounds to no key\/value group of the 1/],
    ] as const) {
      const r = await prune(name, join(dir, 'never', name), ['--heads', '0.5']);
      expect(r.code, name).toBe(1);
      expect(r.stderr.trim().split('\n'), name).toHaveLength(1);
      expect(r.stderr, name).toMatch(message);
    }
  }, 120_000);
});
