/** Typed reads of config.json fields, each refusal naming the field. */
import { ConfigError } from './errors';

export type Json = Record<string, unknown>;

export function num(cfg: Json, key: string, fallback?: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new ConfigError(`config.json lacks "${key}", which this ${String(cfg.model_type)} model needs.`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`config.json: "${key}" must be a number, got ${JSON.stringify(v)}.`);
  return v;
}

export function int(cfg: Json, key: string, fallback?: number): number {
  const v = num(cfg, key, fallback);
  if (!Number.isInteger(v) || v <= 0) throw new ConfigError(`config.json: "${key}" must be a positive integer, got ${v}.`);
  return v;
}

export function bool(cfg: Json, key: string, fallback: boolean): boolean {
  const v = cfg[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new ConfigError(`config.json: "${key}" must be true or false, got ${JSON.stringify(v)}.`);
  return v;
}

export function tokenId(cfg: Json, key: string): number | null {
  const v = cfg[key];
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  return null;
}

export function optionalPositive(cfg: Json, key: string): number | null {
  const v = cfg[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !(v > 0)) throw new ConfigError(`config.json: "${key}" must be a positive number or null, got ${JSON.stringify(v)}.`);
  return v;
}
