/**
 * Every help text of the studio, keyed by topic: the settings in the sidebar, the charts and the
 * tabs. Plain words first, then the formula in the papers' terms. Held to docs/algorithms.md
 * (constants from src/shared/methods.ts), so a learner reads what the code does.
 */
import { DEFAULT_ALPS, DEFAULT_SPAP } from '../../shared/methods';

export interface HelpText {
  title: string;
  /** Paragraphs. */
  body: string[];
}

const A = DEFAULT_ALPS;
const S = DEFAULT_SPAP;

const OBJECTIVE = 'The objective is ‖XW₀ᵀ − XWᵀ‖²: X holds the layer’s inputs on the calibration text (one row per token), W₀ the dense weights, W the pruned ones. It is how much the layer’s outputs change, not how much the weights change.';
const RELATIVE = 'Charts and tables show it relative to the output itself, ‖XW₀ᵀ − XWᵀ‖² / ‖XW₀ᵀ‖²: 0 means the outputs are unchanged, 0.01 means the output error carries 1 % of the output’s energy (its square root, 10 %, is the norm ratio the ALPS paper tabulates).';

const TOPICS = {
  // ---------------------------------------------------------------- ideas
  objective: {
    title: 'The reconstruction objective',
    body: [OBJECTIVE, 'Every solver sees X only through its gram G = XᵀX (inputs × inputs), so the objective is computed as tr((W − W₀) G (W − W₀)ᵀ).', RELATIVE],
  },
  admm: {
    title: 'ADMM: three steps per iteration',
    body: [
      'ALPS keeps two copies of the weights: B, free to take any value, and D, which always has exactly k non-zeros. A penalty ρ‖B − D‖² pulls them together, and V (the dual variable) remembers how far apart they have been.',
      '1. W-update: B ← (Ĝ + ρI)⁻¹(Y − V + ρD), the best dense weights that also stay close to D (Ĝ is the scaled gram, Y = ĜB₀). The inverse is refactored only when ρ changes.',
      '2. D-update: D ← P_k(B + V/ρ), a projection: keep the k entries of largest magnitude, zero the rest.',
      '3. Dual update: V ← V + ρ(B − D), which pushes B towards D next time wherever they disagree.',
    ],
  },
  rho: {
    title: 'Why ρ grows',
    body: [
      'With a small ρ, B may stray far from any sparse matrix and the support is still being explored; a large ρ forces B ≈ D, which freezes the support. Growing ρ step by step lets ADMM explore first and settle later.',
      `Every ${A.updateEvery} iterations (the update period) ALPS counts c, the entries of D that changed between zero and non-zero: c > 0.1·k → ρ ×1.3; c > 0.005·k → ρ ×1.2; c ≥ 1 → ρ ×1.1 (or, if ρ never grew yet, ρ ÷5 and a restart from the dense weights); c = 0 → stop (or ρ ÷5 if it never grew). ρ stays at most ${A.rhoMax.toExponential(0)}.`,
    ],
  },
  support: {
    title: 'The support',
    body: [
      'The support is the set of weights that survive: supp(P_k(B)), the positions of the k kept entries. Choosing it is the hard, combinatorial part of pruning; once it is fixed, the best values on it are a least-squares problem.',
      'ADMM has found its support when D stops changing from one check to the next; the PCG refit then optimises the values on it.',
    ],
  },

  // ---------------------------------------------------------------- model and calibration
  model: {
    title: 'The model',
    body: [
      'A Hugging Face causal language model: config.json, the weights as *.safetensors (compact compressed-tensors folders and this studio’s packed *.safetensors.pack too), tokenizer.json (and tokenizer_config.json). GPT-2, OPT, Llama/SmolLM, Mistral, Qwen2/3, Gemma 3 (text) and Phi-3 layouts are read. Nothing leaves your machine.',
      'The bundled default model is a small Llama trained from scratch on synthetic children’s stories: small enough that a run finishes in seconds to a minute, even on a CPU-emulated GPU.',
    ],
  },
  'calibration-text': {
    title: 'Calibration text',
    body: [
      'Pruning needs examples of what the model reads: the text is cut into windows and run through the model, and each layer’s inputs X on those tokens define its objective. Text like the model’s use gives the best pruned model.',
      'The bundled text is short stories in the default model’s domain; “My own text” takes pasted text or a dropped .txt.',
    ],
  },
  'cal-samples': {
    title: 'Samples',
    body: ['How many windows of text are drawn (N). Each layer’s gram G = XᵀX sums over all their tokens: more samples estimate the inputs better and make the pruned model generalise better, but every block takes longer to calibrate.'],
  },
  'cal-seqlen': {
    title: 'Window (tokens)',
    body: ['The length of each calibration window in tokens, at most the model’s context length. Samples × window is the number of calibration tokens; windows as long as the model’s usual context give realistic attention inputs.'],
  },
  'cal-seed': {
    title: 'Seed',
    body: ['Which windows are drawn from the text. The same seed, text and sizes give the same windows, so a run can be repeated exactly (and shared with its URL).'],
  },

  // ---------------------------------------------------------------- methods and patterns
  method: {
    title: 'Pruning methods',
    body: [
      'The four unstructured methods zero single weights of every linear layer, keeping the shapes: ALPS (an optimisation), SparseGPT (one pass with weight updates), Wanda and magnitude (scores only, no update).',
      'SPAP is structured: it removes whole MLP channels, so the matrices and the checkpoint get smaller and faster.',
      'Run “Compare methods” to see all four on one layer with the same settings.',
    ],
  },
  'method-alps': {
    title: 'ALPS (Meng et al., NeurIPS 2024)',
    body: [
      'Treats pruning a layer as an optimisation: minimise the reconstruction objective with exactly k weights kept. ADMM with a growing penalty ρ finds the support, then a preconditioned conjugate-gradient (PCG) refit optimises the weights on it.',
      'Slowest of the four, usually the lowest error: watch it in the Live tab.',
    ],
  },
  'method-sparsegpt': {
    title: 'SparseGPT (Frantar & Alistarh, ICML 2023)',
    body: ['One pass over the input columns in blocks of 128: each block’s weights with the smallest saliency W²/[U]²_jj are pruned (U the Cholesky factor of the inverse gram) and the error is pushed onto the columns not yet visited (an Optimal Brain Surgeon update). Fast, and it updates the kept weights.'],
  },
  'method-wanda': {
    title: 'Wanda (Sun et al., ICLR 2024)',
    body: ['Scores each weight by |W_ij|·‖X_j‖ (its size times how strongly its input fires on the calibration text) and drops each output row’s lowest scores. The kept weights are not changed. Very fast.'],
  },
  'method-magnitude': {
    title: 'Magnitude',
    body: ['Keeps the k weights of largest |W| in the whole layer and zeros the rest. It ignores the calibration text, so it cannot tell a large weight on an input that never fires from an important one: the classic baseline.'],
  },
  'method-spap': {
    title: 'SPAP: structured pruning of MLP channels (Hu & Yuan 2025)',
    body: [
      'A channel i of an MLP is row i of gate/up and column i of down: removing it shrinks all three matrices. Per block, SPAP chooses λ channels to remove with a penalty (ρ/2)·Σ s_i‖W_:,i‖² that grows until the choice is stable, alternating a W-step (a ridge problem) and an s-step (the cheapest λ channels).',
      'Then down_proj is refit exactly on the kept channels. Blocks are done in order, each with the earlier ones already pruned.',
    ],
  },
  pattern: {
    title: 'Sparsity pattern',
    body: [
      'Unstructured: any k = round((1 − s)·m·n) weights of the layer may survive.',
      'N:M (2:4, 4:8): inside every output row, each run of M consecutive inputs keeps N, so 50 % are zero in a regular layout that sparse tensor cores can run fast. The constraint is tighter, so the error is higher than unstructured 50 %.',
    ],
  },
  sparsity: {
    title: 'Sparsity',
    body: ['The fraction s of each layer’s weights set to zero. A layer of m outputs and n inputs keeps k = round((1 − s)·m·n) weights (Wanda: each row keeps n − floor(n·s)). Errors grow quickly past 50–60 %, faster for methods that do not update the kept weights.'],
  },
  profile: {
    title: 'Sparsity profile (whole-model runs)',
    body: [
      'Uniform: every layer at the target.',
      'OWL (Yin et al. 2024): a dense pass measures each block’s share of outlier scores |W|·‖X_j‖ above 5× their mean; blocks with more outliers are pruned less, within ±8 points of the target.',
      'Custom: your own per-layer sparsities from the budget editor (Model tab). OWL, and Custom with “exact total”, prune exactly as many weights in total as the uniform target.',
    ],
  },
  refine: {
    title: 'Refine with swap moves',
    body: [
      'A local search after any method (as SparseSwaps polishes masks): in one output row, prune one kept weight and restore one pruned weight at its best value, only when the layer’s objective drops. The row’s kept count never changes, so the sparsity and any N:M pattern stay.',
      'After the last round the kept weights are refit (ALPS’s PCG) and the refinement is kept only if it lowers the error.',
    ],
  },
  'refine-rounds': {
    title: 'Swap rounds at most',
    body: ['Each round makes at most one swap per output row (its best pair of 32 × 32 candidates). The search stops early when no row has an improving swap.'],
  },

  // ---------------------------------------------------------------- ALPS settings
  'alps-settings': {
    title: 'ALPS settings',
    body: [
      `Editable: ρ₀, the iteration cap, the ρ update period and the PCG steps (defaults ${A.rho0}, ${A.maxIterations}, ${A.updateEvery}, ${A.pcgSteps}, as in the authors’ code). They also apply to ALPS in “Compare methods”.`,
      `Fixed: damping ${A.damping}·mean(diag G) added to the gram’s diagonal (the inputs may be nearly collinear; this keeps (Ĝ + ρI) well conditioned); the problem is scaled to a unit diagonal first; the run stops early after ${A.minIterations} iterations once c/k < ${A.stopFraction}; ρ ≤ ${A.rhoMax.toExponential(0)}; the PCG refit stops when every column’s residual is below ${A.pcgTol} of ‖Y_j‖.`,
    ],
  },
  'alps-rho0': {
    title: 'ρ₀ (initial penalty)',
    body: [`The penalty that ties B to the sparse D at the start (default ${A.rho0}). Smaller: B explores more freely, the support changes more and it takes more iterations; larger: the support freezes early, near the starting support P_k(B₀), which ranks weights by |W_ij|·√G_jj (Wanda’s score, over the whole layer). ALPS lowers ρ by 5× by itself if the support settles before ρ ever grew.`],
  },
  'alps-iters': {
    title: 'Iteration cap',
    body: [`The most ADMM iterations (default ${A.maxIterations}). ALPS usually stops earlier, when the support stops changing; the cap bounds the time on hard layers.`],
  },
  'alps-every': {
    title: 'ρ update every (iterations)',
    body: [`How often ALPS checks the support: every ${A.updateEvery} iterations by default it counts the entries of D that changed since the last check (the “changed / k” chart) and grows ρ by 1.1–1.3× (see “Why ρ grows”). A shorter period grows ρ sooner: the support settles in fewer iterations, with less time to explore.`],
  },
  'alps-pcg': {
    title: 'PCG steps',
    body: [`At most this many preconditioned conjugate-gradient steps (default ${A.pcgSteps}) refit the kept weights once the support is fixed; 0 skips the refit. Each step is one product with Ĝ; it stops earlier once every column’s residual is below ${A.pcgTol} of ‖Y_j‖.`],
  },

  // ---------------------------------------------------------------- SPAP settings
  'spap-fraction': {
    title: 'MLP channels removed',
    body: ['The fraction of each block’s MLP channels (the intermediate width) that is removed: gate/up lose those rows, down_proj those columns, and the config’s width shrinks. The model gets smaller and faster, not just sparser.'],
  },
  'spap-heads': {
    title: 'Key/value groups removed',
    body: [
      'The fraction of each block’s attention removed as well, before its MLP channels. A group is one key/value head with the query heads that share it (grouped-query attention; one query head without grouping): q, k and v lose those heads’ rows, o_proj the columns they write, and o_proj is refit exactly on the kept heads.',
      'The channel selection below chooses them too, on o_proj’s problem with its columns taken a head at a time. GPT-2 and OPT cannot lose heads: their attention derives the head size from the head count.',
    ],
  },
  'spap-selection': {
    title: 'Channel selection',
    body: [
      'SPAP: the penalty path (ρ grows until the choice of channels stops changing), with an OBS-style cost ‖B_:,i‖² / [(Ĝ + ρ·diag(s))⁻¹]_ii that lets the kept channels take over the removed ones’ work.',
      'Weight norm: remove the channels with the smallest ‖W_down[:, i]‖². Activation-weighted norm: the smallest ‖W_down[:, i]‖²·G_ii (how strongly the channel fires).',
      'All three use the same exact refit of down_proj, so a comparison isolates the choice.',
    ],
  },
  'spap-settings': {
    title: 'SPAP penalty',
    body: [
      `The penalty ρ starts at ρ₀ and is multiplied by the growth factor after every step, for at most the step cap (defaults ${S.rho0}, ${S.growth}, ${S.maxSteps}). Used by the SPAP selection only.`,
      `Fixed: damping ${S.damping}·mean(diag G); the path stops once the choice has not changed for ${S.stableSteps} steps and the removed channels carry less than ${S.massTolerance} of the weight energy.`,
    ],
  },
  'spap-rho0': {
    title: 'SPAP ρ₀ (initial penalty)',
    body: [`The first penalty on the chosen channels’ weights (default ${S.rho0}, against the scaled gram’s unit diagonal): small, so the first W-step is almost the dense solution and the choice can still change while the penalty is soft.`],
  },
  'spap-growth': {
    title: 'ρ growth',
    body: [`ρ is multiplied by this after every penalty step (default ${S.growth}). Faster growth ends the path in fewer steps but gives the kept channels less time to take over the removed ones’ work.`],
  },
  'spap-steps': {
    title: 'Step cap',
    body: [`The most penalty steps per block (default ${S.maxSteps}); the path usually stops earlier, when the choice is stable and the removed channels carry almost no weight energy.`],
  },

  // ---------------------------------------------------------------- run
  'layer-select': {
    title: 'Layer',
    body: ['One linear layer (m outputs × n inputs) of a transformer block: q/k/v/o project attention, gate/up/down form the MLP. A single-layer run prunes it with the calibration inputs of the dense model and leaves the model itself unchanged.'],
  },
  run: {
    title: 'Running',
    body: [
      'Prune this layer: one layer, charted live (ALPS) and listed in Layers. Compare methods: all four methods on this layer with the same settings.',
      'Prune the whole model: block by block; each block’s layers are pruned with inputs that already pass through the pruned blocks before it (“sequential”), then Evaluate measures perplexity and Download saves the model.',
    ],
  },

  // ---------------------------------------------------------------- charts
  'chart-error': {
    title: 'Relative reconstruction error of P_k(B)',
    body: [
      'P_k(B) is the ADMM iterate B with all but its k largest entries zeroed: the sparse weights ALPS would return if it stopped now. The chart shows their relative error ‖X(W − W₀)ᵀ‖² / ‖XW₀ᵀ‖² after every check.',
      'It usually falls fast, may bump when ρ grows and the support moves, then flattens as the support settles. A restart (ρ lowered before any increase) starts again from the dense weights.',
    ],
  },
  'chart-support': {
    title: 'Support change per ρ update (changed / k)',
    body: ['At every check, the number of entries of D that switched between zero and non-zero since the previous check, divided by k, the number of weights kept (a swap of one weight counts twice). It falls towards 0 as ρ grows; at 0 the support is settled. Checks with no change cannot be drawn on the log axis.'],
  },
  'chart-rho': {
    title: 'Penalty ρ',
    body: ['The penalty that ties the free iterate B to the sparse D. It grows by 1.1–1.3× at checks where the support still changes: see “Why ρ grows”. Each change refactors (Ĝ + ρI).'],
  },
  'chart-pcg': {
    title: 'PCG refit on the fixed support',
    body: [
      'With the support S fixed, the best values on it solve Ĝ_SS b_S = Y_S for every output column j. Preconditioned conjugate gradient (the diagonal scaling is the preconditioner) improves all columns at once.',
      'Max column residual / ‖Y_j‖: the worst column’s remaining error in those equations, relative to its right-hand side; the refit stops below 1e-4. The dashed line is the layer’s relative error: the refit usually lowers it a little (the error before the refit is shown beside the final one).',
    ],
  },
  'chart-spap-error': {
    title: 'Objective of the relaxed solution',
    body: ['The relaxed solution is the W-step’s answer with the penalty in place of the hard constraint: every channel still has weights, the chosen ones only shrunk. The chart zeroes the chosen channels of it and shows the relative error. The final exact refit on the kept channels comes after the path.'],
  },
  'chart-spap-changed': {
    title: 'Channels changing status',
    body: ['How many channels entered or left the chosen set at this step. The path stops once this has been 0 for a few steps and the chosen channels carry almost no weight.'],
  },
  'chart-spap-rho': {
    title: 'SPAP penalty ρ',
    body: ['The penalty on the chosen channels’ weights, multiplied by the growth factor after every step.'],
  },
  'chart-spap-mass': {
    title: 'Weight energy left on the removed channels',
    body: ['The chosen channels’ share of ‖B‖². As ρ grows it falls towards 0: the relaxed solution has then in effect removed them, and removing them for real changes little.'],
  },
  'layer-view': {
    title: 'Looking inside one layer',
    body: [
      'The left map is the dense weight W₀: each cell is the largest |W₀| in that block of rows and columns (big layers are downsampled on the GPU, so one cell stands for many weights). The right map is the mask the method chose: the share of weights kept in each cell, so a dark column is an input the method kept almost whole.',
      'The histogram counts the dense weights by magnitude, split into kept and pruned: magnitude pruning cuts at one threshold, while Wanda, SparseGPT and ALPS also keep some small weights whose inputs are large or whose loss the other weights cannot make up. Point at a cell to read its value.',
    ],
  },
  'chart-mask': {
    title: 'The mask, frame by frame',
    body: ['One frame per ρ update of a single-layer ALPS run: each cell is the share of weights kept in that part of the layer (big layers are downsampled). Early frames change a lot while ADMM explores; as ρ grows the frames stop changing: the support has settled.'],
  },
  'chart-swaps': {
    title: 'Swap refinement',
    body: ['The layer’s relative error after each round of swaps, against the swaps made so far. The grey line is the method alone. The refit on the final support comes after the last round.'],
  },
  'chart-model-layers': {
    title: 'Relative error per layer (whole-model run)',
    body: ['Each bar is one layer’s ‖X(W − W₀)ᵀ‖² / ‖XW₀ᵀ‖² on its calibration inputs, in pruning order. Later layers see inputs already changed by the pruned layers before them. Click a bar to open the layer.'],
  },
  'chart-block-error': {
    title: 'Refit error of down_proj per block',
    body: ['For each block of a structured run: the relative output error of down_proj after the chosen channels are removed and the rest refit exactly. Click to see the channels.'],
  },
  'chart-compare': {
    title: 'Methods compared on one layer',
    body: ['The final relative error of each method on the same layer, calibration inputs and sparsity: lower is better. The curve shows ALPS’s error per iteration against the one-pass methods’ final errors (dashed lines).'],
  },

  // ---------------------------------------------------------------- tabs
  'layers-table': {
    title: 'Pruned layers',
    body: [
      'One row per finished result: a single-layer run, a comparison or a whole-model run. rel. error is the relative reconstruction error on the calibration inputs; iterations are ADMM iterations (ALPS) and time is the solve.',
      'Click a row to open the layer: its weight magnitudes, its mask, and for ALPS its convergence charts.',
    ],
  },
  perplexity: {
    title: 'Perplexity: exp(mean next-token NLL)',
    body: [
      'The held-out text is cut into windows; at every position the model predicts the next token, and NLL = −log p(the actual next token). Perplexity is exp of the mean NLL over all predicted tokens: roughly, how many tokens the model hesitates between. Lower is better.',
      'The dense model and the pruned ones are measured on the same windows, so the increase is what pruning cost.',
    ],
  },
  generation: {
    title: 'Greedy continuation',
    body: ['Each model continues the prompt by repeatedly taking its most likely next token. A quick look at what pruning did to the model’s language, beside the perplexity number.'],
  },
  channels: {
    title: 'Channels (structured runs)',
    body: ['For every block of a SPAP run: which MLP channels were kept, the penalty path that chose them, and the parameters before and after. Removed channels are gone from the exported model, whose config gets the new width.'],
  },
  budget: {
    title: 'Sparsity budget',
    body: ['Each linear layer’s sparsity for whole-model runs with the profile “Custom”: drag a bar or type a value; start from the OWL preset. With “exact total” the edits are shifted so the model keeps exactly as many weights as the uniform target.'],
  },
  download: {
    title: 'Downloads',
    body: ['The pruned model keeps the original tensor names, dtypes and shapes (a structured one its smaller MLP shapes), with config and tokenizer files and prune_report.json: one entry per layer with its error. A layer problem file holds one layer’s weight and gram for the command-line prune-layer.'],
  },
} satisfies Record<string, HelpText>;

export type HelpTopic = keyof typeof TOPICS;

export const HELP: Readonly<Record<HelpTopic, HelpText>> = TOPICS;

export function isHelpTopic(topic: string): topic is HelpTopic {
  return Object.prototype.hasOwnProperty.call(TOPICS, topic);
}

/** A chart's topic from its test id ("live-error-chart", "spap-block-rho-chart", "compare-bars"…); null for none. */
export function chartTopic(testId: string | undefined): HelpTopic | null {
  if (!testId) return null;
  const spap = /^spap-[a-z]+-([a-z]+)-chart$/.exec(testId);
  if (spap && isHelpTopic(`chart-spap-${spap[1]}`)) return `chart-spap-${spap[1]}` as HelpTopic;
  const alps = /^(?:live|layer)-([a-z]+)-chart$/.exec(testId);
  if (alps && isHelpTopic(`chart-${alps[1]}`)) return `chart-${alps[1]}` as HelpTopic;
  if (testId.endsWith('swaps-chart')) return 'chart-swaps';
  if (testId === 'model-layer-chart') return 'chart-model-layers';
  if (testId === 'block-error-chart') return 'chart-block-error';
  if (testId.startsWith('compare-')) return 'chart-compare';
  return null;
}
