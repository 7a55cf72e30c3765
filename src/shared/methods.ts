/**
 * The method registry's description half: what each method is called, where it comes from, what it
 * prunes and its defaults. Pure data, so the UI's main thread can list methods without loading a
 * kernel; `src/solvers/registry.ts` binds each id to its solver. The CLI's parser, the studio's
 * method list, labels and colours all derive from this table.
 */

export type AlpsOptions = {
  /** Initial penalty ρ₀. */
  rho0: number;
  /** Iteration cap. */
  maxIterations: number;
  /** ρ is updated (and support change checked) every `updateEvery` iterations. */
  updateEvery: number;
  /** PCG refit steps. */
  pcgSteps: number;
  /** PCG stops when every column's masked residual ≤ pcgTol · ‖Y_j‖. */
  pcgTol: number;
  /** Damping fraction of mean(diag G). */
  damping: number;
  /** Minimum iterations before the convergence stop may fire. */
  minIterations: number;
  /** Stop once support change / k falls below this (after minIterations). */
  stopFraction: number;
  /** Upper bound on ρ. */
  rhoMax: number;
};

export const DEFAULT_ALPS: AlpsOptions = {
  rho0: 0.1,
  maxIterations: 300,
  updateEvery: 3,
  pcgSteps: 10,
  pcgTol: 1e-4,
  damping: 0.01,
  minIterations: 30,
  stopFraction: 3e-4,
  rhoMax: 1e6,
};

export type SpapOptions = {
  rho0: number;
  growth: number;
  maxSteps: number;
  stableSteps: number;
  massTolerance: number;
  damping: number;
};

export const DEFAULT_SPAP: SpapOptions = { rho0: 1e-3, growth: 1.5, maxSteps: 60, stableSteps: 3, massTolerance: 1e-3, damping: 0.01 };

/** Damping fraction of mean(diag G) SparseGPT adds (the reference's percdamp), and its column block. */
export const DEFAULT_SPARSEGPT = { blockSize: 128, damping: 0.01 } as const;

/** Methods that zero single weights of a linear layer (unstructured or N:M). */
export type Method = 'alps' | 'sparsegpt' | 'wanda' | 'magnitude';
/** How a structured run chooses the MLP channels it removes: SPAP, or one of its two baselines. */
export type ChannelSelection = 'spap' | 'weight-norm' | 'activation-norm';

export interface MethodInfo<Id extends string = string> {
  id: Id;
  /** Display name, as papers and tables write it. */
  label: string;
  /** Where the method comes from. */
  paper: string;
  /** One plain sentence: what it does. */
  summary: string;
  /** Chart colour, the same in every view. */
  color: string;
  /** What it removes: single weights (unstructured or N:M) or whole MLP channels. */
  kind: 'unstructured' | 'structured';
  /** The method's own options and their defaults (empty where it has none). */
  defaults: Readonly<Record<string, number>>;
}

export const METHOD_INFO: { readonly [K in Method]: MethodInfo<K> } = {
  alps: {
    id: 'alps',
    label: 'ALPS',
    paper: 'Meng et al., NeurIPS 2024',
    summary: 'ADMM with a growing penalty ρ finds the support, then a preconditioned conjugate-gradient refit on it.',
    color: '#2563eb',
    kind: 'unstructured',
    defaults: DEFAULT_ALPS,
  },
  sparsegpt: {
    id: 'sparsegpt',
    label: 'SparseGPT',
    paper: 'Frantar & Alistarh, ICML 2023',
    summary: 'Column by column, prunes by the OBS saliency and updates the remaining weights with the inverse gram.',
    color: '#d97706',
    kind: 'unstructured',
    defaults: DEFAULT_SPARSEGPT,
  },
  wanda: {
    id: 'wanda',
    label: 'Wanda',
    paper: 'Sun et al., ICLR 2024',
    summary: 'Keeps the weights with the largest |W|·‖X_j‖ in each output row; no update.',
    color: '#059669',
    kind: 'unstructured',
    defaults: {},
  },
  magnitude: {
    id: 'magnitude',
    label: 'Magnitude',
    paper: 'the classic baseline',
    summary: 'Keeps the weights of largest |W| in the whole layer; no update.',
    color: '#9333ea',
    kind: 'unstructured',
    defaults: {},
  },
};

/** The unstructured methods in the order lists show them. */
export const METHODS: readonly Method[] = ['alps', 'sparsegpt', 'wanda', 'magnitude'];

export const SELECTION_INFO: { readonly [K in ChannelSelection]: MethodInfo<K> } = {
  spap: {
    id: 'spap',
    label: 'SPAP',
    paper: 'structured ALPS-style penalty method',
    summary: 'A growing group penalty pushes whole MLP channels to zero; the survivors are refitted exactly.',
    color: '#0f766e',
    kind: 'structured',
    defaults: DEFAULT_SPAP,
  },
  'weight-norm': {
    id: 'weight-norm',
    label: 'weight norm',
    paper: 'baseline',
    summary: 'Removes the channels whose down-projection columns have the smallest norm, then the same refit.',
    color: '#64748b',
    kind: 'structured',
    defaults: { damping: DEFAULT_SPAP.damping },
  },
  'activation-norm': {
    id: 'activation-norm',
    label: 'activation-weighted norm',
    paper: 'baseline',
    summary: 'Removes the channels with the smallest ‖W_j‖·‖X_j‖, then the same refit.',
    color: '#b45309',
    kind: 'structured',
    defaults: { damping: DEFAULT_SPAP.damping },
  },
};

export const CHANNEL_SELECTIONS: readonly ChannelSelection[] = ['spap', 'weight-norm', 'activation-norm'];

export function isMethod(value: string): value is Method {
  return (METHODS as readonly string[]).includes(value);
}

export function isChannelSelection(value: string): value is ChannelSelection {
  return (CHANNEL_SELECTIONS as readonly string[]).includes(value);
}

/** Display name of an unstructured method, a channel selection, or 'spap' as the studio's fifth method. */
export function methodLabel(id: string): string {
  return (METHOD_INFO as Record<string, MethodInfo>)[id]?.label ?? (SELECTION_INFO as Record<string, MethodInfo>)[id]?.label ?? id;
}

export function methodColor(id: string): string {
  return (METHOD_INFO as Record<string, MethodInfo>)[id]?.color ?? (SELECTION_INFO as Record<string, MethodInfo>)[id]?.color ?? '#6b7280';
}
