/**
 * Model folders as a hostile user would make them: files in memory, written to temporary folders,
 * with the safetensors container taken apart and put back together so that its header can lie.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../../src/formats/writer';
import type { Checkpoint } from './checkpoints';

/** File name → contents. */
export type Files = Record<string, Uint8Array>;

const encoder = new TextEncoder();
export const text = (s: string): Uint8Array => encoder.encode(s);
export const json = (v: unknown): Uint8Array => text(JSON.stringify(v, null, 1));
export const parseJson = (bytes: Uint8Array): Record<string, unknown> => JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;

export function readFolder(dir: string): Files {
  const files: Files = {};
  for (const name of readdirSync(dir)) files[name] = new Uint8Array(readFileSync(join(dir, name)));
  return files;
}

export function writeFolder(dir: string, files: Files): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  return dir;
}

/** SHA-256 over every file's name and bytes: any change to the folder changes it. */
export function hashFolder(dir: string): string {
  const h = createHash('sha256');
  for (const name of readdirSync(dir).sort()) h.update(name).update('\0').update(readFileSync(join(dir, name))).update('\0');
  return h.digest('hex');
}

/** A checkpoint as a folder: config.json and model.safetensors (plus whatever `extra` adds, e.g. a tokenizer). */
export function checkpointFiles(ck: Checkpoint, dtype: 'F32' | 'F16' | 'BF16' = 'F32', extra: Files = {}): Files {
  const tensors = [...ck.tensors].map(([name, t]) => ({ name, dtype, shape: t.shape, data: t.data }));
  return { 'config.json': json(ck.config), 'model.safetensors': writeSafetensors(tensors), ...extra };
}

export interface Container {
  header: Record<string, unknown>;
  data: Uint8Array;
}

export function parseContainer(bytes: Uint8Array): Container {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return { header: parseJson(bytes.subarray(8, 8 + n)), data: bytes.subarray(8 + n) };
}

/** A safetensors file from a header (object or raw text) and data; `claimed` lies about the header length. */
export function buildContainer(header: Record<string, unknown> | string, data: Uint8Array, claimed?: bigint): Uint8Array {
  let body = typeof header === 'string' ? header : JSON.stringify(header);
  while (body.length % 8) body += ' ';
  const h = text(body);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, claimed ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** The same file with `n` extra empty tensors in its header (the "million empty tensors" folder). */
export function withEmptyTensors(bytes: Uint8Array, n: number): Uint8Array {
  const { header, data } = parseContainer(bytes);
  // Built as text: a million-entry object is slower to build than its JSON.
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`"extra.${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
  const base = JSON.stringify(header);
  return buildContainer(`${base.slice(0, -1)},${parts.join(',')}}`, data);
}

/** model.safetensors split in two shards plus model.safetensors.index.json, as from_pretrained saves large models. */
export function shardFiles(files: Files): Files {
  const { header, data } = parseContainer(files['model.safetensors']!);
  const names = Object.keys(header).filter((n) => n !== '__metadata__');
  const half = Math.ceil(names.length / 2);
  const out: Files = { ...files };
  delete out['model.safetensors'];
  const weightMap: Record<string, string> = {};
  [names.slice(0, half), names.slice(half)].forEach((part, i) => {
    const shard = `model-0000${i + 1}-of-00002.safetensors`;
    const h: Record<string, unknown> = {};
    const chunks: Uint8Array[] = [];
    let offset = 0;
    for (const name of part) {
      const e = header[name] as { dtype: string; shape: number[]; data_offsets: [number, number] };
      const bytes = data.subarray(e.data_offsets[0], e.data_offsets[1]);
      h[name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + bytes.length] };
      chunks.push(bytes);
      offset += bytes.length;
      weightMap[name] = shard;
    }
    const joined = new Uint8Array(offset);
    let at = 0;
    for (const c of chunks) {
      joined.set(c, at);
      at += c.length;
    }
    out[shard] = buildContainer(h, joined);
  });
  out['model.safetensors.index.json'] = json({ metadata: { total_size: data.length }, weight_map: weightMap });
  return out;
}
