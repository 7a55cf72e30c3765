/**
 * A layer's numerical health: what its gram says about the calibration behind it, and the warnings
 * (each with what to do) that the CLI, the report and the studio show. Pure data and functions; the
 * condition estimate is computed on the GPU by src/solvers/health.ts.
 */

/** Power-iteration steps for λ_max(Ĝ) and inverse-iteration steps for λ_min(Ĝ). */
export const HEALTH_POWER_STEPS = 24;

/** Thresholds of the warnings, and why. */
export const HEALTH_THRESHOLDS = {
  /** κ(Ĝ) from here on: f32 keeps ~7 digits, so a solve with Ĝ keeps about 7 − log10 κ of them (≤ 1 here). */
  condition: 1e6,
  /** max/min of the live diag(G) from here on: beyond f32's 24-bit mantissa (1.7e7) the weakest inputs vanish in sums with the strongest. */
  spread: 1e7,
} as const;

export interface LayerHealth {
  /** Inputs (side of the gram). */
  n: number;
  /** Inputs that never fire over the calibration rows: G_jj = 0. */
  deadInputs: number;
  /** diag(G) over the inputs that fire; null when none does. */
  diagonal: { min: number; max: number; median: number; /** max / min */ spread: number } | null;
  /** Calibration rows behind the gram, when known. */
  rows: number | null;
  /** rows < n: G = XᵀX has rank ≤ rows < n, only the damping makes it invertible (null when rows is unknown). */
  rankDeficient: boolean | null;
  /** The damping the estimate used: λ = fraction·mean(diag G); `factored`: whether the method factors the gram at all. */
  damping: { fraction: number; lambda: number; factored: boolean };
  /**
   * The damped, scaled Ĝ = D⁻¹(G + λI)D⁻¹ (ALPS's matrix): λ_max by power iteration, λ_min by inverse
   * iteration through its Cholesky factor, `estimate` = λ_max/λ_min (a lower bound of κ; null when
   * the factorisation failed or λ_min is below what f32 resolves). `by`: inverse iteration through the
   * Cholesky factor for methods that factor the gram (ALPS, SparseGPT); shifted power iteration on
   * σI − Ĝ (σ = the λ_max estimate) for magnitude and Wanda, whose own solve costs less than a
   * factorisation would (5–10 s against Wanda's 3 s at 576×1536 on SwiftShader): coarser, a lower
   * bound of κ within an order of magnitude (test/health.test.ts).
   */
  condition: { lambdaMax: number; lambdaMin: number | null; estimate: number | null; steps: number; by: 'inverse-iteration' | 'shifted-power' };
  /**
   * Whether Ĝ passed the Cholesky factorisation the solvers use (same kernel and pivot tolerance).
   * No solver retries with more damping or falls back to another matrix: a failed factorisation
   * stops ALPS and SparseGPT with an error, so this is never silent. Null when not tried (magnitude,
   * Wanda: see `condition`).
   */
  factorises: boolean | null;
}

export type HealthWarningKind = 'dead-inputs' | 'rank-deficient' | 'ill-conditioned' | 'not-factorisable' | 'diagonal-spread';

export interface HealthWarning {
  kind: HealthWarningKind;
  /** One line: what is off and what to do. */
  text: string;
}

/** Dead inputs and the spread of diag(G), in float64 from the host copy of the gram (O(n)). */
export function diagonalHealth(gram: ArrayLike<number>, n: number): Pick<LayerHealth, 'deadInputs' | 'diagonal'> {
  const live: number[] = [];
  for (let j = 0; j < n; j++) {
    const g = gram[j * n + j];
    if (g !== 0) live.push(g);
  }
  if (!live.length) return { deadInputs: n, diagonal: null };
  live.sort((a, b) => a - b);
  const mid = live.length >> 1;
  const median = live.length % 2 ? live[mid] : (live[mid - 1] + live[mid]) / 2;
  const min = live[0];
  const max = live[live.length - 1];
  return { deadInputs: n - live.length, diagonal: { min, max, median, spread: max / min } };
}

/** λ = fraction · mean(diag G), in float64. */
export function dampingLambda(gram: ArrayLike<number>, n: number, fraction: number): number {
  let trace = 0;
  for (let j = 0; j < n; j++) trace += gram[j * n + j];
  return (fraction * trace) / n;
}

/**
 * The start vector of both iterations: deterministic, every entry positive and uneven, so that it
 * is not orthogonal to the extreme eigenvectors of any gram met in practice. Unit norm.
 */
export function powerStart(n: number): Float64Array {
  const x = new Float64Array(n);
  let s = 0;
  for (let j = 0; j < n; j++) {
    x[j] = 1 + 0.5 * Math.sin(1.7 * j + 0.3);
    s += x[j] * x[j];
  }
  const r = 1 / Math.sqrt(s);
  for (let j = 0; j < n; j++) x[j] *= r;
  return x;
}

const sci = (x: number) => x.toExponential(0).replace('e+', 'e');

/** Zero or more one-line warnings, each with what to do; thresholds in HEALTH_THRESHOLDS. */
export function healthWarnings(h: LayerHealth): HealthWarning[] {
  const out: HealthWarning[] = [];
  if (h.deadInputs > 0) {
    out.push({
      kind: 'dead-inputs',
      text: `${h.deadInputs} of ${h.n} inputs never fire (dead): their weights are pruned for free; more calibration text may wake them`,
    });
  }
  if (h.rankDeficient) {
    out.push({
      kind: 'rank-deficient',
      text: `${h.rows} calibration rows for ${h.n} inputs: the gram is rank-deficient; use more samples or longer windows`,
    });
  }
  if (h.factorises === false) {
    out.push({
      kind: 'not-factorisable',
      text: `the damped gram cannot be factored (Cholesky pivot failed at damping ${h.damping.fraction}): raise damping; ALPS and SparseGPT stop on this layer`,
    });
  } else if (h.condition.estimate !== null && h.condition.estimate >= HEALTH_THRESHOLDS.condition) {
    out.push({
      kind: 'ill-conditioned',
      text: `condition number ~${sci(h.condition.estimate)} at damping ${h.damping.fraction}: raise damping`,
    });
  }
  if (h.diagonal && h.diagonal.spread >= HEALTH_THRESHOLDS.spread) {
    out.push({
      kind: 'diagonal-spread',
      text: `input energies span ~${sci(h.diagonal.spread)} (max/min of diag G): the weakest inputs are lost to f32 rounding; check the calibration text for outlier tokens`,
    });
  }
  return out;
}

/** The health columns of a per-layer CSV report (src/pipeline/export.ts). */
export const HEALTH_CSV_HEADER = ['dead_inputs', 'rows', 'rank_deficient', 'diag_min', 'diag_median', 'diag_max', 'damping', 'condition', 'factorises', 'warnings'];

/** One layer's health cells for HEALTH_CSV_HEADER; empty cells when the health is unknown. Warning kinds are joined by ';'. */
export function healthCsvCells(h: LayerHealth | undefined): string[] {
  if (!h) return HEALTH_CSV_HEADER.map(() => '');
  const num = (x: number | null | undefined) => (x === null || x === undefined ? '' : x.toPrecision(6));
  return [
    String(h.deadInputs),
    h.rows === null ? '' : String(h.rows),
    h.rankDeficient === null ? '' : String(h.rankDeficient),
    num(h.diagonal?.min),
    num(h.diagonal?.median),
    num(h.diagonal?.max),
    String(h.damping.fraction),
    num(h.condition.estimate),
    h.factorises === null ? '' : String(h.factorises),
    healthWarnings(h).map((w) => w.kind).join(';'),
  ];
}

/**
 * The health of a whole run in a few lines: the warning count, then the worst layers (most
 * warnings, then the largest condition estimate) with their warnings. Empty when nothing is off.
 */
export function healthDigest(layers: readonly { id: string; health?: LayerHealth }[], worst = 3): string[] {
  const flagged = layers
    .filter((l): l is { id: string; health: LayerHealth } => l.health !== undefined)
    .map((l) => ({ id: l.id, warnings: healthWarnings(l.health), condition: l.health.condition.estimate ?? (l.health.factorises === false ? Infinity : 0) }))
    .filter((l) => l.warnings.length > 0);
  if (!flagged.length) return [];
  const count = flagged.reduce((a, l) => a + l.warnings.length, 0);
  flagged.sort((a, b) => b.warnings.length - a.warnings.length || b.condition - a.condition);
  const lines = [`health: ${count} warning${count === 1 ? '' : 's'} on ${flagged.length} of ${layers.length} layers${flagged.length > worst ? `; the worst ${worst}:` : ':'}`];
  for (const l of flagged.slice(0, worst)) for (const w of l.warnings) lines.push(`  ${l.id}: ${w.text}`);
  return lines;
}
