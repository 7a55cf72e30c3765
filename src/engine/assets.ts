/**
 * The bundled default model and texts, fetched from the site's /default-model/ folder. The worker
 * gives the folder's URL; texts are fetched once and kept.
 */
import { ModelFolderError } from '../model/loader';

export const DEFAULT_MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];

export type DefaultText = 'calibration.txt' | 'evaluation.txt';

export interface Assets {
  /** One file of the default model folder. */
  file(name: string): Promise<File>;
  /** A bundled text (cached after the first fetch). */
  text(name: DefaultText): Promise<string>;
}

/** Assets under `folderUrl` (ending in "/"), fetched with `fetch`. */
export function fetchedAssets(folderUrl: string): Assets {
  const texts = new Map<string, Promise<string>>();
  const get = async (file: string): Promise<Response> => {
    const response = await fetch(new URL(file, folderUrl).href);
    // Dev and preview servers answer unknown paths with index.html: that is a missing file too.
    const html = (response.headers.get('content-type') ?? '').includes('text/html');
    if (!response.ok || html) {
      throw new ModelFolderError(`The bundled default model is not available: ${file} is missing from /default-model/ (HTTP ${response.status}${html ? ', got a web page' : ''}). Drop a model folder instead.`);
    }
    return response;
  };
  return {
    file: async (name) => new File([await (await get(name)).blob()], name),
    text: (name) => {
      let text = texts.get(name);
      if (!text) {
        text = get(name).then((r) => r.text());
        // A failed fetch is not kept, so a later run may succeed.
        text.catch(() => texts.delete(name));
        texts.set(name, text);
      }
      return text;
    },
  };
}
