/** Node-only: a model folder on disk (browser code must not import this module). */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { openFileSource, type NodeFileSource } from '../formats/nodeFile';
import { openModel, type ModelFolder, type OpenedModel } from './loader';

export function nodeFolder(dir: string): ModelFolder {
  const opened: NodeFileSource[] = [];
  return {
    name: basename(dir),
    files: () => readdirSync(dir),
    text: (file) => readFile(join(dir, file), 'utf8'),
    bytes: async (file) => {
      const source = await openFileSource(join(dir, file));
      opened.push(source);
      return source;
    },
    close: async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    },
  };
}

/** Opens the Hugging Face model folder at `dir` (config, safetensors, tokenizer). */
export function openModelDir(dir: string): Promise<OpenedModel> {
  return openModel(nodeFolder(dir));
}
