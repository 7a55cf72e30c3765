/**
 * The on-disk form of a whole-model run's finished blocks, so that a killed run can continue after
 * its last finished block (the CLI's `prune --resume`; the file IO is the caller's). A checkpoint is
 * a manifest naming the run (model fingerprint, method and its options, pattern, calibration) and
 * the finished blocks, each a safetensors file of that block's pruned weights at the model's dtype
 * (F32, F16 or BF16) — exactly what the uninterrupted run feeds the next block (prune.ts rounds
 * each pruned weight to that dtype first), so a resumed run computes the same weights — with the
 * layers' outcomes in its metadata. Pure code (Web Crypto for the hashes): the studio can share it.
 */
import { bytesSource } from '../formats/byteSource';
import { halfBits, openSafetensors, writeSafetensors } from '../formats/safetensors';
import type { StoredWeight, WeightTable } from '../formats/weightTable';
import type { OpenedModel } from '../model/loader';
import { describeProfile, type SparsityProfile } from '../shared/budget';
import { METHOD_INFO, type AlpsOptions, type Method } from '../shared/methods';
import type { LayerOutcome } from '../shared/outcome';
import { patternLabel, type Pattern } from '../shared/pattern';

export const CHECKPOINT_FORMAT = 'prune-studio whole-model checkpoint';
/** 2: blocks at the model's dtype (version 1 kept F32 blocks of weights the run had not rounded). */
export const CHECKPOINT_VERSION = 2;

/** A checkpoint that cannot be used (damaged, or of another run): the message is one line. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** Everything a run's weights depend on; two runs with equal RunIdentity compute equal weights. */
export interface RunIdentity {
  model: {
    /** SHA-256 of config.json and tokenizer.json (null without one). */
    config: string;
    tokenizer: string | null;
    /** Weight files and their sizes in bytes, by name. */
    files: Record<string, number>;
    /** SHA-256 of the tensor table (names, dtypes, shapes, files). */
    tensors: string;
    blocks: number;
  };
  method: Method;
  pattern: Pattern;
  /** The sparsity profile when it is not uniform (absent: uniform, so older checkpoints still match). */
  profile?: SparsityProfile;
  /** The method's options as the run uses them (ALPS: ρ0, iterations, PCG…; none for magnitude). */
  options: Record<string, number>;
  calibration: {
    /** The text as given; the run is identified by its size and hash, so a moved copy still matches. */
    text: string;
    bytes: number;
    sha256: string;
    nsamples: number;
    seqlen: number;
    seed: number;
    /** SHA-256 of the sampled windows' token ids. */
    windows: string;
  };
}

export interface BlockEntry {
  index: number;
  file: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  run: RunIdentity;
  /** Finished blocks, in order from block 0. */
  blocks: BlockEntry[];
}

export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export interface RunSettings {
  method: Method;
  pattern: Pattern;
  profile?: SparsityProfile;
  alps?: Partial<AlpsOptions>;
  calibration: { text: string; content: string; nsamples: number; seqlen: number; seed: number; windows: Uint32Array };
}

/** The identity of a run: the model by its config, tokenizer, tensor table and file sizes (reading every weight would take minutes at 1B). */
export async function runIdentity(model: OpenedModel, s: RunSettings): Promise<RunIdentity> {
  const folder = model.folder;
  const files: Record<string, number> = {};
  const table: [string, string, number[], string][] = [];
  for (const t of model.file.tensors.values()) {
    table.push([t.name, t.dtype, t.shape, t.file]);
    files[t.file] ??= folder.size ? await folder.size(t.file) : (await folder.bytes(t.file)).size;
  }
  const text = new TextEncoder().encode(s.calibration.content);
  const w = s.calibration.windows;
  return {
    model: {
      config: await sha256Hex(await folder.text('config.json')),
      tokenizer: folder.files().includes('tokenizer.json') ? await sha256Hex(await folder.text('tokenizer.json')) : null,
      files: Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))),
      tensors: await sha256Hex(JSON.stringify(table)),
      blocks: model.arch.blocks.length,
    },
    method: s.method,
    pattern: s.pattern,
    ...(s.profile && s.profile.kind !== 'uniform' ? { profile: s.profile } : {}),
    options: { ...METHOD_INFO[s.method].defaults, ...(s.method === 'alps' ? s.alps : {}) },
    calibration: {
      text: s.calibration.text,
      bytes: text.byteLength,
      sha256: await sha256Hex(text),
      nsamples: s.calibration.nsamples,
      seqlen: s.calibration.seqlen,
      seed: s.calibration.seed,
      windows: await sha256Hex(new Uint8Array(w.buffer, w.byteOffset, w.byteLength)),
    },
  };
}

/** What the person changed, as the flag that changed it (with both values where they read well); the text path alone is no change. */
const FIELDS: [string, (r: RunIdentity) => unknown, ((v: never) => string)?][] = [
  ['the model folder (config.json)', (r) => r.model.config],
  ['the model folder (tokenizer.json)', (r) => r.model.tokenizer],
  ['the model folder (its weight files)', (r) => [r.model.files, r.model.tensors, r.model.blocks]],
  ['--method', (r) => r.method, String],
  ['--sparsity/--pattern', (r) => r.pattern, patternLabel],
  ['--sparsity-profile/--layer-sparsity', (r) => r.profile ?? { kind: 'uniform' }, describeProfile],
  ['the method options', (r) => r.options],
  ['--calib (its content)', (r) => [r.calibration.bytes, r.calibration.sha256]],
  ['--nsamples', (r) => r.calibration.nsamples, String],
  ['--seqlen', (r) => r.calibration.seqlen, String],
  ['--seed', (r) => r.calibration.seed, String],
  ['the calibration windows', (r) => r.calibration.windows],
];

/** Null when `saved` and `current` are the same run; else what differs, e.g. `--method (sparsegpt there, wanda here)`. */
export function runDifference(saved: RunIdentity, current: RunIdentity): string | null {
  for (const [label, get, show] of FIELDS) {
    const a = get(saved) as never;
    const b = get(current) as never;
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    // Values that print alike (sparsity 0.5 and 0.5001) would only confuse: then the label alone.
    return show && show(a) !== show(b) ? `${label} (${show(a)} there, ${show(b)} here)` : label;
  }
  return null;
}

export function emptyManifest(run: RunIdentity): Manifest {
  return { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, run, blocks: [] };
}

/** Parses and checks a manifest's JSON; `name` is the file as messages name it. */
export function parseManifest(text: string, name: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CheckpointError(`${name} is not valid JSON (damaged)`);
  }
  const m = json as Partial<Manifest> | null;
  if (!m || m.format !== CHECKPOINT_FORMAT) throw new CheckpointError(`${name} is not a prune-studio checkpoint manifest`);
  if ((m.version as number) === 1) throw new CheckpointError(`${name} was written by an earlier prune-studio (version 1, float32 blocks) that this one cannot continue; start the run over (remove the checkpoint folder, or give another one)`);
  if (m.version !== CHECKPOINT_VERSION) throw new CheckpointError(`${name} is checkpoint version ${String(m.version)}; this prune-studio reads version ${CHECKPOINT_VERSION}`);
  const run = m.run as RunIdentity | undefined;
  if (!run?.model || !run.calibration || typeof run.method !== 'string' || !run.pattern || !Array.isArray(m.blocks)) {
    throw new CheckpointError(`${name} is damaged: its run or block list is missing`);
  }
  m.blocks.forEach((b, i) => {
    const ok = b && b.index === i && typeof b.file === 'string' && /^block-\d+\.safetensors$/.test(b.file) && Number.isSafeInteger(b.bytes) && /^[0-9a-f]{64}$/.test(b.sha256);
    if (!ok) throw new CheckpointError(`${name} is damaged: block entry ${i} is malformed`);
  });
  if (m.blocks.length > run.model.blocks) throw new CheckpointError(`${name} is damaged: it lists ${m.blocks.length} blocks of a ${run.model.blocks}-block model`);
  return m as Manifest;
}

export function blockFileName(index: number): string {
  return `block-${String(index).padStart(4, '0')}.safetensors`;
}

/** One finished block: its linears' pruned weights (as kept: the model's dtype) and their outcomes (metadata). */
export function encodeBlock(model: OpenedModel, index: number, weights: WeightTable, report: readonly LayerOutcome[]): Uint8Array {
  const block = model.arch.blocks[index]!;
  const outcomes = report.filter((r) => r.block === index);
  if (outcomes.length !== block.linears.length) throw new Error(`Block ${index} is not finished: ${outcomes.length} of ${block.linears.length} layers.`);
  const tensors = block.linears.map((l) => {
    const w = weights.stored(l.weight)!;
    return { name: l.weight, dtype: w.dtype, shape: [l.out, l.in], data: w.data };
  });
  return writeSafetensors(tensors, { block: String(index), outcomes: JSON.stringify(outcomes) });
}

/** Reads a block file back, checking it holds exactly that block's layers of this model. */
export async function decodeBlock(model: OpenedModel, index: number, bytes: Uint8Array, name: string): Promise<{ weights: Map<string, StoredWeight>; outcomes: LayerOutcome[] }> {
  const block = model.arch.blocks[index]!;
  const damaged = (why: string): never => {
    throw new CheckpointError(`${name} is damaged: ${why}`);
  };
  let file;
  try {
    file = await openSafetensors(bytesSource(bytes, name));
  } catch (error) {
    return damaged((error as Error).message.replace(`${name}: `, ''));
  }
  if (file.metadata.block !== String(index)) damaged(`it holds block ${file.metadata.block ?? '?'}, not ${index}`);
  let outcomes: LayerOutcome[] = [];
  try {
    outcomes = JSON.parse(file.metadata.outcomes ?? '') as LayerOutcome[];
  } catch {
    damaged('its layer outcomes are not valid JSON');
  }
  const weights = new Map<string, StoredWeight>();
  if (!Array.isArray(outcomes)) damaged('its layer outcomes are not a list');
  for (const l of block.linears) {
    const info = file.tensors.get(l.weight);
    const source = model.file.tensors.get(l.weight)?.dtype;
    const dtype = source === 'F16' || source === 'BF16' ? source : 'F32';
    if (!info || info.dtype !== dtype || info.shape.join() !== `${l.out},${l.in}`) damaged(`${l.weight} is missing or not ${dtype} [${l.out}, ${l.in}]`);
    if (!outcomes.some((o) => o?.block === index && `${o.id}.weight` === l.weight)) damaged(`the outcome of ${l.weight} is missing`);
    // Copied out of the block's bytes, so the kept weight does not hold the whole file alive.
    weights.set(l.weight, dtype === 'F32' ? { dtype, data: await file.readF32(l.weight) } : { dtype, data: halfBits(await file.readRaw(l.weight)).slice() });
  }
  if (file.tensors.size !== block.linears.length || outcomes.length !== block.linears.length) damaged('it holds other tensors than the block\'s linears');
  return { weights, outcomes };
}

/** A stored block's bytes checked against its manifest entry (size, SHA-256) and against the model, then decoded. */
export async function verifiedBlock(model: OpenedModel, entry: BlockEntry, bytes: Uint8Array): Promise<{ weights: Map<string, StoredWeight>; outcomes: LayerOutcome[] }> {
  if (bytes.byteLength !== entry.bytes || (await sha256Hex(bytes)) !== entry.sha256) throw new CheckpointError(`${entry.file} is damaged (its size or SHA-256 differs from the manifest)`);
  return decodeBlock(model, entry.index, bytes, entry.file);
}
