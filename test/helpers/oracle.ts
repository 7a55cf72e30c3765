/**
 * Hugging Face transformers as the test oracle: the Python of .venv-oracle/ (made by
 * scripts/oracle/setup-venv.sh, which .ci/run calls) running scripts/oracle/*.py. Each call starts
 * torch once (seconds), so callers pass every folder of a phase in one call.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli';

export const VENV_PYTHON = join(ROOT, '.venv-oracle/bin/python');
const SETUP = 'scripts/oracle/setup-venv.sh';

/** The venv's Python; a missing venv is an error that says how to make it (never a silent skip). */
export function oraclePython(): string {
  if (!existsSync(VENV_PYTHON)) {
    throw new Error(`The transformers oracle needs ${VENV_PYTHON}, which is missing: run \`${SETUP}\` (or .ci/run, which calls it) from ${ROOT}.`);
  }
  return VENV_PYTHON;
}

/**
 * Runs an oracle script; resolves with its stdout's JSON lines, rejects with its stderr on failure.
 * With `perItemErrors`, exit code 1 with a JSON line per item is a result (evaluate.py reports a
 * folder transformers refuses as {"folder", "error"} and goes on with the others).
 */
export function oracle(script: string, args: string[], timeoutMs = 300_000, perItemErrors = false): Promise<unknown[]> {
  const python = oraclePython();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(python, [join(ROOT, 'scripts/oracle', script), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not finish within ${timeoutMs} ms\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const lines = stdout.trim().split('\n').filter(Boolean);
      if (code !== 0 && !(perItemErrors && code === 1 && lines.length > 0)) {
        reject(new Error(`${script} ${args.join(' ')} exited with ${code} (if torch or transformers is missing, run \`${SETUP}\`)\n${stderr}`));
        return;
      }
      resolvePromise(lines.map((line) => JSON.parse(line) as unknown));
    });
  });
}

export interface MadeCheckpoint {
  name: string;
  model_type: string;
  folder: string;
  dtype: string;
  files: string[];
  loss: number | null;
  seconds: number;
}

/** scripts/oracle/make_checkpoints.py: the named checkpoints, trained `steps` steps, under `out`. */
export async function makeCheckpoints(o: { out: string; tokenizer: string; trainText: string; names: string[]; steps?: number }): Promise<MadeCheckpoint[]> {
  const args = ['--out', o.out, '--tokenizer', o.tokenizer, '--train-text', o.trainText, '--only', o.names.join(',')];
  if (o.steps !== undefined) args.push('--steps', String(o.steps));
  const [made] = await oracle('make_checkpoints.py', args, 600_000);
  return made as MadeCheckpoint[];
}

export interface LinearStats {
  shape: number[];
  zeros: number;
  numel: number;
  /** Groups of 4 consecutive inputs with more than 2 nonzeros; null when the input width is not a multiple of 4. */
  nm_violations: number | null;
}

export interface LoadReport {
  /** from_pretrained's output_loading_info: missing_keys, unexpected_keys, mismatched_keys, error_msgs, … */
  info: Record<string, unknown>;
  /** Safetensors dtype (F32, F16, BF16) of every stored tensor, in the files and after loading. */
  file_dtypes: Record<string, string>;
  loaded_dtypes: Record<string, string>;
  /** Stored tensors the loaded model has no parameter or buffer for. */
  not_in_model: string[];
  config: { intermediate_size: number | null; n_inner: number | null; ffn_dim: number | null };
  linears: Record<string, LinearStats>;
}

export interface OracleResult {
  folder: string;
  /** Why transformers could not load or run the folder; the other fields are then absent. */
  error?: string;
  text_tokens: number;
  seqlen: number;
  perplexity: number;
  nll: number;
  windows: number;
  predicted: number;
  logits_ids?: number[];
  /** [K][vocab], float64. */
  logits?: number[][];
  load?: LoadReport;
}

/** scripts/oracle/evaluate.py on every folder, in order. */
export async function transformersEval(
  folders: string[],
  o: { text: string; seqlen: number; maxWindows?: number; logits?: number; load?: boolean },
): Promise<OracleResult[]> {
  const args = ['--text', o.text, '--seqlen', String(o.seqlen)];
  if (o.maxWindows) args.push('--max-windows', String(o.maxWindows));
  if (o.logits) args.push('--logits', String(o.logits));
  if (o.load) args.push('--load');
  const results = (await oracle('evaluate.py', [...args, ...folders], 300_000, true)) as OracleResult[];
  if (results.length !== folders.length) throw new Error(`evaluate.py printed ${results.length} results for ${folders.length} folders`);
  return results;
}

export const relDiff = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
