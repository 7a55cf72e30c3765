/** Node-only: a model folder on disk (browser code must not import this module). */
import { readdirSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { openFileSource, type NodeFileSource } from '../formats/nodeFile';
import { ModelFolderError, openModel, type ModelFolder, type OpenedModel } from './loader';

export function nodeFolder(dir: string): ModelFolder {
  const opened: NodeFileSource[] = [];
  const name = basename(dir);
  // A link to /dev/zero or a FIFO named config.json would never finish reading: regular files only.
  const size = async (file: string): Promise<number> => {
    const info = await stat(join(dir, file));
    if (!info.isFile()) throw new ModelFolderError(`${name}: ${file} is not a regular file.`);
    return info.size;
  };
  return {
    name,
    files: () => readdirSync(dir),
    size,
    text: async (file) => {
      await size(file);
      return readFile(join(dir, file), 'utf8');
    },
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
