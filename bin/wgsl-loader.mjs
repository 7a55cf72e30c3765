/**
 * Node module hooks that give `import text from './x.wgsl?raw'` the meaning Vite gives it (the file's
 * text as the default export), so the CLI runs the same sources as the browser with no build step.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

function isRaw(specifier) {
  const q = specifier.indexOf('?');
  return q >= 0 && new URLSearchParams(specifier.slice(q + 1)).has('raw');
}

export async function resolve(specifier, context, nextResolve) {
  if (!isRaw(specifier)) return nextResolve(specifier, context);
  const path = specifier.slice(0, specifier.indexOf('?'));
  let url;
  if (/^(\.{1,2}\/|\/|file:)/.test(path)) {
    url = new URL(path, context.parentURL);
  } else {
    // A bare specifier (a file inside a package): let the default resolver find it.
    url = new URL((await nextResolve(path, context)).url);
  }
  url.search = '?raw';
  return { url: url.href, format: 'module', shortCircuit: true };
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !isRaw(url)) return nextLoad(url, context);
  const file = new URL(url);
  file.search = '';
  const text = await readFile(fileURLToPath(file), 'utf8');
  return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
}
