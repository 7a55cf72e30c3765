/**
 * Non-uniform sparsity at an exact overall budget (docs/algorithms.md, "OWL and per-layer budgets"):
 * every layer gets its own unstructured sparsity, and the weights pruned over all pruned linears add
 * up to exactly what the uniform target prunes with the same method. Pure functions: the pipeline
 * supplies the shapes and, for OWL, each block's outlier ratio.
 */
import type { Method } from './methods';

/** How the layers' sparsities are chosen; uniform is the default everywhere. */
export type SparsityProfile =
  | { kind: 'uniform' }
  | { kind: 'owl'; m: number; lambda: number }
  | { kind: 'layers'; rules: LayerRule[]; exact: boolean };

/** One `glob=sparsity` entry of --layer-sparsity. */
export interface LayerRule {
  glob: string;
  sparsity: number;
}

/** The OWL paper's defaults (Yin et al. 2024; llm-compressor's owl_m and owl_lmbda). */
export const OWL_DEFAULTS = { m: 5, lambda: 0.08 } as const;

export class BudgetError extends Error {
  override name = 'BudgetError';
}

/** What one pruned linear looks like to the budget. */
export interface BudgetLayer {
  id: string;
  block: number;
  /** [out, in] in nn.Linear layout. */
  m: number;
  n: number;
}

/**
 * The unit a method's count comes in: 'layer' keeps k = round((1−s)·m·n) of the whole layer; 'row'
 * prunes floor(n·s) in every output row (Wanda's comparison group, docs/algorithms.md "Wanda"), so a
 * layer's pruned count moves in steps of m.
 */
export type Granularity = 'layer' | 'row';

export function granularityOf(method: Method): Granularity {
  return method === 'wanda' ? 'row' : 'layer';
}

/** Units a layer's pruned count is made of, the weights per unit, and the most units it may prune (one weight per row stays). */
function units(layer: BudgetLayer, g: Granularity): { count: number; weight: number; max: number } {
  return g === 'row' ? { count: layer.n, weight: layer.m, max: layer.n - 1 } : { count: layer.m * layer.n, weight: 1, max: layer.m * layer.n - 1 };
}

/** Units the method prunes at sparsity s (what the solvers compute from the pattern). */
function prunedUnits(layer: BudgetLayer, s: number, g: Granularity): number {
  const size = layer.m * layer.n;
  return g === 'row' ? Math.floor(layer.n * s) : size - Math.round((1 - s) * size);
}

/** The weights the uniform target s prunes over all layers with this granularity: the total every profile must hit. */
export function uniformPruned(layers: readonly BudgetLayer[], s: number, g: Granularity): number {
  return layers.reduce((a, l) => a + prunedUnits(l, s, g) * units(l, g).weight, 0);
}

/** A sparsity from which the method prunes exactly `p` units of the layer (the float quotient can land a hair off). */
export function sparsityForUnits(layer: BudgetLayer, p: number, g: Granularity): number {
  const { count } = units(layer, g);
  // All of a layer (only ever the uniform target's own count on a tiny layer): the highest sparsity rounding keeps none at.
  let s = p === count && g === 'layer' ? 1 - 0.25 / count : p / count;
  for (let i = 0; i < 8 && prunedUnits(layer, s, g) !== p; i++) {
    s += (prunedUnits(layer, s, g) < p ? 1 : -1) * Number.EPSILON * Math.max(1, s) * 4;
  }
  if (prunedUnits(layer, s, g) !== p) throw new Error(`No sparsity prunes exactly ${p} units of ${layer.id}.`);
  return s;
}

/** --layer-sparsity: "self_attn.*=0.5,mlp.*=0.75" (globs over layer names; * any run, ? one character). */
export function parseLayerRules(text: string): LayerRule[] {
  const rules: LayerRule[] = [];
  for (const part of text.split(',')) {
    const entry = part.trim();
    if (!entry) continue;
    const eq = entry.lastIndexOf('=');
    const glob = eq < 0 ? '' : entry.slice(0, eq).trim();
    const value = eq < 0 ? '' : entry.slice(eq + 1).trim();
    if (!glob || !value) throw new BudgetError(`--layer-sparsity entry "${entry}" is not glob=sparsity (for example self_attn.*=0.5)`);
    if (!/^[A-Za-z0-9_.*?-]+$/.test(glob)) throw new BudgetError(`--layer-sparsity glob "${glob}" may hold only letters, digits, _ . - and the wildcards * ?`);
    const s = value.endsWith('%') ? Number(value.slice(0, -1)) / 100 : Number(value);
    if (!/^\d*\.?\d+%?$/.test(value) || !(s >= 0 && s < 1)) throw new BudgetError(`--layer-sparsity ${glob}=${value}: the sparsity must be a number in [0, 1) (0.5 or 50%)`);
    rules.push({ glob, sparsity: s });
  }
  if (!rules.length) throw new BudgetError('--layer-sparsity is empty; give glob=sparsity entries, e.g. self_attn.*=0.5,mlp.*=0.75');
  return rules;
}

/** A glob matches a layer's whole name or a dot-separated tail of it ("mlp.*" matches "model.layers.3.mlp.up_proj"). */
export function globMatches(glob: string, id: string): boolean {
  let re = compiledGlobs.get(glob);
  if (!re) {
    const body = glob.replace(/[.+^${}()|[\]\\-]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    re = new RegExp(`(^|\\.)${body}$`);
    // The studio's budget has one rule per layer, matched against every layer on each edit: compile each glob once.
    if (compiledGlobs.size > 4096) compiledGlobs.clear();
    compiledGlobs.set(glob, re);
  }
  return re.test(id);
}

const compiledGlobs = new Map<string, RegExp>();

/** The first matching rule's sparsity, else the target. */
export function ruleSparsity(rules: readonly LayerRule[], id: string, target: number): number {
  return rules.find((r) => globMatches(r.glob, id))?.sparsity ?? target;
}

/**
 * OWL's outlier ratio of one block: the share of the activation-weighted scores |W_ij|·‖X_j‖ over
 * all its linears that exceed M × their mean (‖X_j‖ = √G_jj).
 */
export function outlierRatio(linears: readonly { weight: Float32Array; n: number; gramDiag: Float32Array }[], M: number): number {
  let total = 0;
  let count = 0;
  const norms = linears.map((l) => Float64Array.from(l.gramDiag, (g) => Math.sqrt(Math.max(g, 0))));
  linears.forEach((l, k) => {
    for (let i = 0; i < l.weight.length; i++) total += Math.abs(l.weight[i]) * norms[k][i % l.n];
    count += l.weight.length;
  });
  const threshold = (M * total) / count;
  let above = 0;
  linears.forEach((l, k) => {
    for (let i = 0; i < l.weight.length; i++) if (Math.abs(l.weight[i]) * norms[k][i % l.n] > threshold) above++;
  });
  return count ? above / count : 0;
}

/**
 * OWL's per-block sparsities before the exact adjustment: ratios mapped linearly onto
 * [s − λ, s + λ], the block with the most outliers at s − λ (pruned least), the fewest at s + λ.
 */
export function owlBlockSparsities(ratios: readonly number[], s: number, lambda: number): number[] {
  const lo = Math.min(...ratios);
  const hi = Math.max(...ratios);
  return ratios.map((r) => (hi > lo ? s + lambda - (2 * lambda * (r - lo)) / (hi - lo) : s));
}

/**
 * Integer pruned units per layer, within [lo_i, hi_i] (sparsities; widened where needed to hold the
 * layer's `uniform` units, so the uniform split is always feasible: a band narrower than one unit may
 * hold no integer), near `targets`, whose weights add up to exactly `total`. First one shift c, found by bisection, makes Σ size_i·clamp(t_i + c) = total in
 * real numbers; then every layer takes the floor of its share and the remainder goes, one unit at a
 * time, to the layers furthest below their real share (per unit size; for 'row' a combination of the
 * few distinct unit sizes that sums to the remainder is found first).
 */
export function exactUnits(
  layers: readonly BudgetLayer[],
  targets: readonly number[],
  bounds: readonly [number, number][],
  uniform: readonly number[],
  g: Granularity,
): number[] {
  const u = layers.map((l) => units(l, g));
  const total = uniform.reduce((a, v, i) => a + v * u[i].weight, 0);
  const lo = bounds.map(([a], i) => Math.min(uniform[i], Math.max(0, Math.ceil(a * u[i].count - 1e-9))));
  const hi = bounds.map(([, b], i) => Math.max(uniform[i], Math.min(u[i].max, Math.floor(b * u[i].count + 1e-9))));
  const at = (c: number) => targets.map((t, i) => Math.min(hi[i], Math.max(lo[i], (t + c) * u[i].count)));
  const sum = (x: number[]) => x.reduce((a, v, i) => a + v * u[i].weight, 0);
  if (sum(lo) > total || sum(hi) < total) throw new BudgetError(`The per-layer bounds cannot add up to the overall budget of ${total} pruned weights; widen them (--owl-lambda) or change --sparsity.`);
  let [a, b] = [-2, 2];
  for (let k = 0; k < 100; k++) {
    const c = (a + b) / 2;
    if (sum(at(c)) < total) a = c;
    else b = c;
  }
  const x = at(b);
  const p = x.map((v, i) => Math.max(lo[i], Math.min(hi[i], Math.floor(v))));
  const moves = remainderMoves(u.map((v) => v.weight), p, lo, hi, total - sum(p));
  for (const [w, n] of moves) {
    for (let k = 0; k < Math.abs(n); k++) {
      let best = -1;
      for (let i = 0; i < p.length; i++) {
        if (u[i].weight !== w || (n > 0 ? p[i] >= hi[i] : p[i] <= lo[i])) continue;
        if (best < 0 || (n > 0 ? x[i] - p[i] > x[best] - p[best] : x[i] - p[i] < x[best] - p[best])) best = i;
      }
      p[best] += Math.sign(n);
    }
  }
  if (sum(p) !== total) throw new Error(`Budget split missed: ${sum(p)} of ${total}.`);
  return p;
}

/**
 * Units to add (or remove, negative) per unit size so that Σ size·units = remainder. The sizes are a
 * model's few distinct row counts (d, the kv width, the MLP width); a dynamic programme over the
 * residues modulo the largest size finds the fewest moves of the smaller ones, and the largest size
 * makes up the rest. More than `big` units of a smaller size only trade against whole units of the
 * largest, so each smaller count stays within ±big.
 */
function remainderMoves(weights: number[], p: number[], lo: number[], hi: number[], remainder: number): [number, number][] {
  const distinct = [...new Set(weights)].sort((x, y) => y - x);
  // The largest size fills the rest unless its layers are at their bounds; then the next one tries.
  for (const filler of distinct) {
    const moves = fillRemainder([filler, ...distinct.filter((w) => w !== filler)], weights, p, lo, hi, remainder);
    if (moves) return moves;
  }
  throw new BudgetError(`The overall budget cannot be split exactly over rows of these widths (${distinct.join(', ')}); use --sparsity-profile uniform.`);
}

/** remainderMoves with sizes[0] as the size that makes up the rest; null when its layers cannot. */
function fillRemainder(sizes: number[], weights: number[], p: number[], lo: number[], hi: number[], remainder: number): [number, number][] | null {
  const room = sizes.map((w) => {
    let up = 0;
    let down = 0;
    weights.forEach((v, i) => {
      if (v === w) [up, down] = [up + hi[i] - p[i], down + p[i] - lo[i]];
    });
    return { up, down };
  });
  const big = sizes[0];
  const mod = (x: number) => ((x % big) + big) % big;
  let cost = new Float64Array(big).fill(Infinity);
  let sum = new Float64Array(big);
  cost[0] = 0;
  const steps: { count: Int32Array; from: Int32Array }[] = [];
  for (let k = 1; k < sizes.length; k++) {
    const next = new Float64Array(big).fill(Infinity);
    const nextSum = new Float64Array(big);
    const step = { count: new Int32Array(big), from: new Int32Array(big) };
    const [down, up] = [Math.min(room[k].down, big), Math.min(room[k].up, big)];
    for (let r = 0; r < big; r++) {
      if (cost[r] === Infinity) continue;
      for (let c = -down; c <= up; c++) {
        const s = sum[r] + c * sizes[k];
        const t = mod(s);
        const value = cost[r] + Math.abs(c);
        if (value < next[t]) [next[t], nextSum[t], step.count[t], step.from[t]] = [value, s, c, r];
      }
    }
    [cost, sum] = [next, nextSum];
    steps.push(step);
  }
  let r = mod(remainder);
  const largest = (remainder - sum[r]) / big;
  if (cost[r] === Infinity || largest > room[0].up || -largest > room[0].down) return null;
  const counts = [largest];
  for (let k = steps.length - 1; k >= 0; k--) {
    counts[k + 1] = steps[k].count[r];
    r = steps[k].from[r];
  }
  return sizes.map((w, k) => [w, counts[k]] as [number, number]).filter(([, n]) => n !== 0);
}

/** Every layer's sparsity under a profile, target s (unstructured), method granularity g; `ratios` are OWL's per block. */
export function planSparsities(layers: readonly BudgetLayer[], s: number, profile: SparsityProfile, g: Granularity, ratios?: readonly number[]): number[] {
  if (profile.kind === 'uniform') return layers.map(() => s);
  if (profile.kind === 'layers' && !profile.exact) return layers.map((l) => ruleSparsity(profile.rules, l.id, s));
  let targets: number[];
  let bounds: [number, number][];
  if (profile.kind === 'owl') {
    if (!ratios) throw new Error('OWL needs every block’s outlier ratio.');
    const blocks = owlBlockSparsities(ratios, s, profile.lambda);
    targets = layers.map((l) => blocks[l.block]);
    bounds = layers.map(() => [s - profile.lambda, s + profile.lambda]);
  } else {
    targets = layers.map((l) => ruleSparsity(profile.rules, l.id, s));
    bounds = layers.map(() => [0, 1]);
  }
  const p = exactUnits(layers, targets, bounds, layers.map((l) => prunedUnits(l, s, g)), g);
  return layers.map((l, i) => sparsityForUnits(l, p[i], g));
}

/** "uniform", "owl (M 5, λ 0.08)" or "layers (self_attn.*=0.5, …; exact total)", for logs and the report. */
export function describeProfile(profile: SparsityProfile): string {
  if (profile.kind === 'uniform') return 'uniform';
  if (profile.kind === 'owl') return `owl (M ${profile.m}, λ ${profile.lambda})`;
  return `layers (${profile.rules.map((r) => `${r.glob}=${r.sparsity}`).join(', ')}${profile.exact ? '; exact total' : ''})`;
}

/** Weights the method prunes from one layer at sparsity s (whole rows of units for 'row'). */
export function prunedWeights(layer: BudgetLayer, s: number, g: Granularity): number {
  return prunedUnits(layer, s, g) * units(layer, g).weight;
}

/** Weights kept over all layers at the given per-layer sparsities. */
export function keptWeights(layers: readonly BudgetLayer[], sparsities: readonly number[], g: Granularity): number {
  return layers.reduce((a, l, i) => a + l.m * l.n - prunedWeights(l, sparsities[i], g), 0);
}

/**
 * A per-layer map (layer id → sparsity, as the studio's budget editor keeps it) as a 'layers'
 * profile: each id is a glob that matches only that layer's whole name; an empty map is uniform.
 */
export function layerMapProfile(map: Readonly<Record<string, number>>, exact: boolean): SparsityProfile {
  // Sorted, so the same budget edited in another order is the same run (its checkpoint identity).
  const rules = Object.keys(map)
    .sort()
    .map((glob) => ({ glob, sparsity: map[glob] }));
  return rules.length ? { kind: 'layers', rules, exact } : { kind: 'uniform' };
}
