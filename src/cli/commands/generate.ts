/**
 * `generate <model-dir> --prompt "…" --max-new-tokens N [--kernels dense|sparse] [--json]`: greedy
 * continuation with a KV cache, the decode products of each linear through the kernel measured
 * fastest for it on this GPU (`--kernels sparse`, the default) or through the dense ones. Prints the
 * text, tokens/s, the time per kind of linear and how many linears took each kernel.
 */
import { cancelOnly } from '../../shared/control';
import type { GenerationReport, KernelMode } from '../../shared/generation';
import type { ParsedArgs } from '../args';
import { EXIT_OK, InputError, UsageError } from '../errors';
import { onDevice } from './device';
import { deviceName, openModelArg, parseCount, requireString, requireTokenizer, residentBlocks } from './eval';
import type { CliContext, Command } from './types';

/** What --json prints as the last stdout line. */
export interface GenerateReport extends GenerationReport {
  model: string;
  prompt: string;
  text: string;
  kernels: KernelMode;
  device: string;
}

/** Linears per kernel, per linear name: "self_attn.q_proj nm 30". */
function kernelSummary(choice: GenerationReport['kernelChoice']): string[] {
  const byName = new Map<string, Map<string, number>>();
  for (const [key, kernel] of Object.entries(choice)) {
    const name = key.slice(key.indexOf('.') + 1);
    const counts = byName.get(name) ?? new Map<string, number>();
    counts.set(kernel, (counts.get(kernel) ?? 0) + 1);
    byName.set(name, counts);
  }
  return [...byName].map(([name, counts]) => `  ${name}: ${[...counts].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
}

export const generateCommand: Command = {
  name: 'generate',
  summary: 'Greedy continuation of a prompt with a KV cache, on sparse or dense kernels; tokens/s and time per layer type.',
  args: '<model-dir>',
  options: {
    prompt: { type: 'string', short: 'p', value: '<text>', description: 'the text to continue (required)' },
    'max-new-tokens': { type: 'string', short: 'n', value: '<n>', description: 'tokens to generate (default 32)' },
    kernels: { type: 'string', value: 'dense|sparse', description: 'sparse: each linear on the kernel measured fastest for it (dense where sparsity does not pay); dense: dense kernels only (default sparse)' },
    json: { type: 'boolean', description: 'print the result as one JSON object on the last line of stdout' },
    quiet: { type: 'boolean', short: 'q', description: 'no progress on stderr' },
    help: { type: 'boolean', short: 'h', description: 'show this help' },
  },
  details: [
    'Before decoding, every linear of every block is timed at the decode shape with each kernel that',
    'applies to its weight (dense; N:M when every group fits 2:4 or 4:8; CSR; bitmask) and the fastest',
    'is kept. tokens/s counts the tokens after the first (the prompt pass is reported apart). The time',
    'per layer type sums, over the blocks, one product of each linear timed alone (GPU timestamps where',
    'the adapter has them, else wall time of separate submits); "other" is the rest of a step.',
    'Every family decodes with a KV cache; GPT-2 and OPT (learned positions) stop at their position table.',
    '',
    'Example:',
    '  prune-studio generate pruned-model/ --prompt "Once upon a time" --max-new-tokens 64 --kernels sparse',
  ].join('\n'),

  async run(args: ParsedArgs, ctx: CliContext): Promise<number> {
    const { options, positionals } = args;
    if (positionals.length === 0) throw new UsageError('generate needs a model folder: generate <model-dir> --prompt "…"');
    if (positionals.length > 1) throw new UsageError(`generate takes one model folder, got ${positionals.length}: ${positionals.join(' ')}`);
    const dir = positionals[0]!;
    const prompt = requireString(options.prompt, 'prompt', '"<text>" (the text to continue)');
    const count = parseCount(options['max-new-tokens'], 'max-new-tokens', 32);
    const kernels = (options.kernels ?? 'sparse') as string;
    if (kernels !== 'dense' && kernels !== 'sparse') throw new UsageError(`--kernels "${kernels}" is not one of dense, sparse`);
    const quiet = options.quiet === true;

    const model = await openModelArg(dir);
    const tokenizer = requireTokenizer(model, dir);
    const ids = tokenizer.encode(prompt);
    if (ids.length === 0) throw new InputError(`the prompt "${prompt}" gives no tokens; give some text`);
    const [{ ModelRunner }, { generate }] = await Promise.all([import('../../model/forward'), import('../../pipeline/generate')]);
    let device = '';
    const result = await onDevice(ctx, {
      command: 'generate',
      onOpen: (gpu) => {
        device = deviceName(gpu);
        if (!quiet) ctx.stderr(`generate: ${dir}, ${ids.length} prompt tokens, ${count} new, ${kernels} kernels\n  device: ${device}\n`);
      },
      resumeNote: () => 'generating again from the prompt',
      run: async (gpu) => {
        const runner = new ModelRunner(gpu, model.arch, model.weights, { maxResidentBlocks: residentBlocks(model) });
        try {
          return await generate(runner, ids, count, { kernels, control: cancelOnly(ctx.signal), eos: model.config.eosTokenId ?? undefined });
        } finally {
          runner.dispose();
        }
      },
    });
    const text = tokenizer.decode(result.tokens);
    const report: GenerateReport = { model: dir, prompt, text, kernels, device, ...result };
    ctx.stdout(`${prompt}${text}\n`);
    ctx.stdout(`${result.tokens.length} tokens, ${result.tokensPerSecond.toFixed(2)} tokens/s (prompt pass ${result.prefillMs.toFixed(0)} ms, KV cache)\n`);
    const types = Object.entries(result.msPerLayerType);
    if (types.length > 0) {
      ctx.stdout(`time per token by layer type (${result.timing}): ${types.map(([t, ms]) => `${t} ${ms.toFixed(2)} ms`).join(', ')}\n`);
      ctx.stdout(`kernels:\n${kernelSummary(result.kernelChoice).join('\n')}\n`);
    }
    if (options.json === true) ctx.stdout(JSON.stringify(report) + '\n');
    return EXIT_OK;
  },
};
