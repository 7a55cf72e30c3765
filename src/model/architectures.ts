/**
 * Where each architecture keeps its weights (real Hugging Face tensor names), the shapes they must
 * have, which linear layers a block has, and in which groups the one-shot pruners visit them.
 *
 * Every linear is described in nn.Linear layout [out, in], the layout the solvers use. GPT-2's
 * Conv1D stores [in, out]; `conv1d` marks those and `fromStored`/`toStored` transpose on load and
 * export. GPT-2's fused `c_attn` stays one linear of shape [3·d, d]: it is one HF module and one
 * tensor, it is pruned as one layer (as the per-module pruners do), and the forward pass writes its
 * output straight into the fused q|k|v buffer that the attention kernel reads. Phi-3's qkv_proj
 * and gate_up_proj are treated the same way: one stored matrix, one layer to prune (its parts read
 * the same input, so they share one gram), with `parts` naming its row blocks for SPAP (channel i is
 * row i of gate and of up) and for the studio.
 */
import { ConfigError, isSliding, type ModelConfig } from './config';

/** Where in a block a linear reads its input; one captured activation per site. */
export type Site = 'attn_in' | 'attn_out' | 'mlp_in' | 'mlp_mid';
export const SITES: readonly Site[] = ['attn_in', 'attn_out', 'mlp_in', 'mlp_mid'];

export type LinearRole = 'q' | 'k' | 'v' | 'qkv' | 'o' | 'gate' | 'up' | 'gate_up' | 'fc' | 'down';

/** A fused linear's parts, stacked along its outputs in this order (q|k|v, gate|up). */
export interface LinearPart {
  name: string;
  rows: number;
}

export interface LinearSpec {
  /** Module path inside the block: 'self_attn.q_proj', 'attn.c_attn', 'mlp.c_proj', 'fc1'… */
  name: string;
  role: LinearRole;
  /** Full HF tensor names. */
  weight: string;
  bias: string | null;
  /** nn.Linear layout [out, in]. */
  out: number;
  in: number;
  /** Stored transposed, as [in, out] (GPT-2 Conv1D). */
  conv1d: boolean;
  site: Site;
  /** Fused linears (GPT-2's c_attn, Phi-3's qkv_proj and gate_up_proj): what its rows are; null otherwise. */
  parts: LinearPart[] | null;
}

export interface NormSpec {
  weight: string;
  bias: string | null;
}

export interface BlockSpec {
  index: number;
  /** Norm before attention and before the MLP. */
  attnNorm: NormSpec;
  mlpNorm: NormSpec;
  /** Per-head RMSNorm of q and k (Qwen3, Gemma 3), [head_dim] each; null otherwise. */
  qNorm: NormSpec | null;
  kNorm: NormSpec | null;
  /** Gemma 3's norms of the attention and MLP outputs before their residual adds; null otherwise. */
  postAttnNorm: NormSpec | null;
  postMlpNorm: NormSpec | null;
  /** This layer attends to at most this many tokens (itself included); null: causal over the whole window. */
  slidingWindow: number | null;
  linears: LinearSpec[];
  /** Pruning order: {q,k,v}, {o}, {gate,up}, {down} (GPT-2: c_attn, c_proj, c_fc, mlp.c_proj). */
  groups: string[][];
}

export interface Architecture {
  config: ModelConfig;
  /** The prefix found in the checkpoint ('model.', 'transformer.', 'model.decoder.', or ''). */
  prefix: string;
  embed: string;
  /** Learned position table (GPT-2, OPT) or null (rotary). */
  positions: string | null;
  finalNorm: NormSpec;
  /** lm_head weight [vocab, hidden]; equals `embed` when the head is tied. */
  lmHead: string;
  tiedHead: boolean;
  blocks: BlockSpec[];
  /** Columns of the fused q|k|v activation: q at 0, k at qCols, v at qCols + kvCols. */
  qCols: number;
  kvCols: number;
  /** Every tensor the forward pass reads, with its stored shape. */
  tensors: Map<string, number[]>;
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

function linear(
  name: string,
  role: LinearRole,
  base: string,
  out: number,
  inp: number,
  bias: boolean,
  site: Site,
  conv1d = false,
  parts: LinearPart[] | null = null,
): LinearSpec {
  return {
    name,
    role,
    weight: `${base}${name}.weight`,
    bias: bias ? `${base}${name}.bias` : null,
    out,
    in: inp,
    conv1d,
    site,
    parts,
  };
}

function norm(base: string, name: string, hasBias: boolean): NormSpec {
  return { weight: `${base}${name}.weight`, bias: hasBias ? `${base}${name}.bias` : null };
}

/** Candidate prefixes per family: CausalLM checkpoints first, then bare base-model ones. */
const PREFIXES: Record<ModelConfig['family'], string[]> = {
  llama: ['model.', ''],
  gpt2: ['transformer.', ''],
  opt: ['model.decoder.', 'decoder.', ''],
  phi3: ['model.', ''],
  gemma3: ['model.', ''],
};

function embedName(family: ModelConfig['family'], prefix: string): string {
  return family === 'gpt2' ? `${prefix}wte.weight` : `${prefix}embed_tokens.weight`;
}

/** Separate q, k, v and output projections (llama, opt), named `${attn}.q_proj`… and `${attn}.${out}`. */
function separateAttention(c: ModelConfig, b: string, attn: string, out: string): LinearSpec[] {
  const d = c.hidden;
  const q = c.heads * c.headDim;
  const kv = c.kvHeads * c.headDim;
  return [
    linear(`${attn}.q_proj`, 'q', b, q, d, c.qkvBias, 'attn_in'),
    linear(`${attn}.k_proj`, 'k', b, kv, d, c.qkvBias, 'attn_in'),
    linear(`${attn}.v_proj`, 'v', b, kv, d, c.qkvBias, 'attn_in'),
    linear(`${attn}.${out}`, 'o', b, d, q, c.oBias, 'attn_out'),
  ];
}

/** The linears of block `b` of one family, in forward order. */
function blockLinears(c: ModelConfig, b: string): LinearSpec[] {
  const d = c.hidden;
  const I = c.intermediate;
  const q = c.heads * c.headDim;
  const kv = c.kvHeads * c.headDim;
  if (c.family === 'phi3') {
    // Stored fused: q|k|v rows in one qkv_proj, gate|up rows in one gate_up_proj (chunked in that order).
    const qkvParts = [{ name: 'q', rows: q }, { name: 'k', rows: kv }, { name: 'v', rows: kv }];
    return [
      linear('self_attn.qkv_proj', 'qkv', b, q + 2 * kv, d, false, 'attn_in', false, qkvParts),
      linear('self_attn.o_proj', 'o', b, d, q, false, 'attn_out'),
      linear('mlp.gate_up_proj', 'gate_up', b, 2 * I, d, false, 'mlp_in', false, [{ name: 'gate', rows: I }, { name: 'up', rows: I }]),
      linear('mlp.down_proj', 'down', b, d, I, false, 'mlp_mid'),
    ];
  }
  if (c.family === 'llama' || c.family === 'gemma3') {
    return [
      ...separateAttention(c, b, 'self_attn', 'o_proj'),
      linear('mlp.gate_proj', 'gate', b, I, d, c.mlpBias, 'mlp_in'),
      linear('mlp.up_proj', 'up', b, I, d, c.mlpBias, 'mlp_in'),
      linear('mlp.down_proj', 'down', b, d, I, c.mlpBias, 'mlp_mid'),
    ];
  }
  if (c.family === 'gpt2') {
    return [
      linear('attn.c_attn', 'qkv', b, 3 * d, d, true, 'attn_in', true, [{ name: 'q', rows: d }, { name: 'k', rows: d }, { name: 'v', rows: d }]),
      linear('attn.c_proj', 'o', b, d, d, true, 'attn_out', true),
      linear('mlp.c_fc', 'fc', b, I, d, true, 'mlp_in', true),
      linear('mlp.c_proj', 'down', b, d, I, true, 'mlp_mid', true),
    ];
  }
  return [
    ...separateAttention(c, b, 'self_attn', 'out_proj'),
    linear('fc1', 'fc', b, I, d, c.mlpBias, 'mlp_in'),
    linear('fc2', 'down', b, d, I, c.mlpBias, 'mlp_mid'),
  ];
}

/** Block tensor prefix and its two norms (name, has bias) per family. */
const BLOCK_LAYOUT: Record<ModelConfig['family'], { blocks: string; attnNorm: string; mlpNorm: string; normBias: boolean }> = {
  llama: { blocks: 'layers', attnNorm: 'input_layernorm', mlpNorm: 'post_attention_layernorm', normBias: false },
  gpt2: { blocks: 'h', attnNorm: 'ln_1', mlpNorm: 'ln_2', normBias: true },
  opt: { blocks: 'layers', attnNorm: 'self_attn_layer_norm', mlpNorm: 'final_layer_norm', normBias: true },
  phi3: { blocks: 'layers', attnNorm: 'input_layernorm', mlpNorm: 'post_attention_layernorm', normBias: false },
  // Gemma's post_attention_layernorm normalises the attention output; the MLP's input norm is pre_feedforward.
  gemma3: { blocks: 'layers', attnNorm: 'input_layernorm', mlpNorm: 'pre_feedforward_layernorm', normBias: false },
};

function blockSpec(c: ModelConfig, prefix: string, l: number): BlockSpec {
  const layout = BLOCK_LAYOUT[c.family];
  const b = `${prefix}${layout.blocks}.${l}.`;
  const linears = blockLinears(c, b);
  return {
    index: l,
    attnNorm: norm(b, layout.attnNorm, layout.normBias),
    mlpNorm: norm(b, layout.mlpNorm, layout.normBias),
    qNorm: c.qkNorm ? norm(b, 'self_attn.q_norm', false) : null,
    kNorm: c.qkNorm ? norm(b, 'self_attn.k_norm', false) : null,
    postAttnNorm: c.sandwichNorms ? norm(b, 'post_attention_layernorm', false) : null,
    postMlpNorm: c.sandwichNorms ? norm(b, 'post_feedforward_layernorm', false) : null,
    slidingWindow: isSliding(c, l) ? c.slidingWindow : null,
    linears,
    // The pruning groups are the linears that read one site: {q,k,v}, {o}, {gate,up}, {down}.
    groups: SITES.map((site) => linears.filter((lin) => lin.site === site).map((lin) => lin.name)).filter((g) => g.length > 0),
  };
}

/** Stored shape of a linear's weight. */
export function storedShape(spec: LinearSpec): number[] {
  return spec.conv1d ? [spec.in, spec.out] : [spec.out, spec.in];
}

/** The architecture's tensor layout without looking at a checkpoint (default prefix). */
export function describeArchitecture(config: ModelConfig, prefix = PREFIXES[config.family][0]): Architecture {
  const c = config;
  const d = c.hidden;
  const blocks = Array.from({ length: c.layers }, (_, l) => blockSpec(c, prefix, l));
  const embed = embedName(c.family, prefix);
  const positions = c.family === 'gpt2' ? `${prefix}wpe.weight` : c.family === 'opt' ? `${prefix}embed_positions.weight` : null;
  const finalNorm =
    c.family === 'gpt2' ? norm(prefix, 'ln_f', true) : c.family === 'opt' ? norm(prefix, 'final_layer_norm', true) : norm(prefix, 'norm', false);
  const lmHead = c.tieEmbeddings ? embed : 'lm_head.weight';

  const tensors = new Map<string, number[]>();
  tensors.set(embed, [c.vocab, d]);
  if (positions) tensors.set(positions, [c.maxPositions + c.positionOffset, d]);
  const addNorm = (n: NormSpec | null, width = d) => {
    if (!n) return;
    tensors.set(n.weight, [width]);
    if (n.bias) tensors.set(n.bias, [width]);
  };
  for (const block of blocks) {
    addNorm(block.attnNorm);
    addNorm(block.mlpNorm);
    addNorm(block.qNorm, c.headDim);
    addNorm(block.kNorm, c.headDim);
    addNorm(block.postAttnNorm);
    addNorm(block.postMlpNorm);
    for (const lin of block.linears) {
      tensors.set(lin.weight, storedShape(lin));
      if (lin.bias) tensors.set(lin.bias, [lin.out]);
    }
  }
  addNorm(finalNorm);
  if (!c.tieEmbeddings) tensors.set(lmHead, [c.vocab, d]);
  return {
    config: c,
    prefix,
    embed,
    positions,
    finalNorm,
    lmHead,
    tiedHead: c.tieEmbeddings,
    blocks,
    qCols: c.heads * c.headDim,
    kvCols: c.kvHeads * c.headDim,
    tensors,
  };
}

/**
 * Binds a config to a checkpoint's tensor table: finds the name prefix, then checks that every
 * tensor the forward pass needs is present with the shape the config implies.
 */
export function resolveArchitecture(config: ModelConfig, shapes: ReadonlyMap<string, readonly number[]>): Architecture {
  const prefixes = PREFIXES[config.family];
  const prefix = prefixes.find((p) => shapes.has(embedName(config.family, p)));
  if (prefix === undefined) {
    const tried = prefixes.map((p) => embedName(config.family, p)).join(' or ');
    const sample = [...shapes.keys()].slice(0, 5).join(', ');
    throw new CheckpointError(
      `The checkpoint has no token embedding (${tried}) for a ${config.modelType} model; its tensors start: ${sample || '(none)'}. Is config.json for this checkpoint?`,
    );
  }
  const arch = describeArchitecture(config, prefix);
  for (const [name, expected] of arch.tensors) {
    const actual = shapes.get(name);
    if (!actual) {
      const hint = name === 'lm_head.weight' ? ' (config.json says tie_word_embeddings=false, so the head must be stored)' : '';
      throw new CheckpointError(`The checkpoint lacks tensor ${name}${hint}, which a ${config.modelType} model with this config.json needs.`);
    }
    if (actual.length !== expected.length || actual.some((v, i) => v !== expected[i])) {
      // A learned position table may be longer than max_position_embeddings claims; only too short is wrong.
      const positionsOk =
        name === arch.positions && actual.length === 2 && actual[1] === expected[1] && actual[0] >= config.positionOffset + 1;
      if (!positionsOk) {
        throw new CheckpointError(
          `Tensor ${name} has shape [${actual.join(', ')}], but config.json implies [${expected.join(', ')}].`,
        );
      }
      arch.tensors.set(name, [...actual]);
    }
  }
  return arch;
}

export function findLinear(arch: Architecture, layer: number, name: string): LinearSpec {
  const block = arch.blocks[layer];
  if (!block) throw new RangeError(`Layer ${layer} is outside 0..${arch.blocks.length - 1}.`);
  const spec = block.linears.find((l) => l.name === name);
  if (!spec) throw new RangeError(`Block ${layer} has no linear "${name}"; it has ${block.linears.map((l) => l.name).join(', ')}.`);
  return spec;
}

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  }
  return out;
}

/** A stored weight as nn.Linear [out, in] (transposes Conv1D; returns the input otherwise). */
export function fromStored(spec: LinearSpec, stored: Float32Array): Float32Array {
  if (stored.length !== spec.out * spec.in) {
    throw new CheckpointError(`${spec.weight}: ${stored.length} values, expected ${spec.out}×${spec.in}.`);
  }
  return spec.conv1d ? transpose(stored, spec.in, spec.out) : stored;
}

/** An nn.Linear [out, in] weight in the checkpoint's stored layout (for export). */
export function toStored(spec: LinearSpec, weight: Float32Array): Float32Array {
  if (weight.length !== spec.out * spec.in) {
    throw new CheckpointError(`${spec.weight}: ${weight.length} values, expected ${spec.out}×${spec.in}.`);
  }
  return spec.conv1d ? transpose(weight, spec.out, spec.in) : weight;
}

export { ConfigError };
