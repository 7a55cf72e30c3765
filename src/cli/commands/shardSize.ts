/**
 * How the exported weight files are written: `--max-shard-size <bytes|500MB|2GiB>` (data bytes per
 * shard, as save_pretrained's max_shard_size) and `--pack`.
 */
import { UsageError } from '../errors';

/** Decimal units as huggingface_hub's parse_size_to_int (5GB = 5·10⁹), and the binary ones. */
const UNITS: Record<string, number> = { '': 1, B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 2 ** 10, MIB: 2 ** 20, GIB: 2 ** 30, TIB: 2 ** 40 };

export const MAX_SHARD_SIZE_OPTION = {
  type: 'string',
  value: '<size>',
  description: 'write the weights as shards of at most this many bytes (500MB, 2GB, 1GiB or bytes) with model.safetensors.index.json; default: sharded like the input',
} as const;

export const PACK_OPTION = {
  type: 'boolean',
  description: 'write the weight files packed (model.safetensors.pack: each tensor deflated by byte plane, lossless, read by this tool only; docs/compact.md)',
} as const;

export function parseShardSize(value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = typeof value === 'string' ? value.trim() : '';
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text);
  const unit = match ? UNITS[match[2]!.toUpperCase()] : undefined;
  const bytes = match && unit !== undefined ? Math.floor(Number(match[1]) * unit) : NaN;
  if (!(bytes >= 1) || !Number.isSafeInteger(bytes)) {
    throw new UsageError(`--max-shard-size must be a positive size such as 500MB, 2GB, 1GiB or a number of bytes, got ${JSON.stringify(value)}`);
  }
  return bytes;
}
