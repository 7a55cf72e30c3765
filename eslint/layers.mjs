// ESLint rule `layers/allowed-imports`: the architecture's layers, enforced. Each folder of src/
// may import only from the folders listed for it (its own included); anything else points up or
// sideways out of its layer. docs/architecture.md draws the same table.
import path from 'node:path';

/** Folder (first segment under src/, or a file path without extension) → what it may import. */
export const LAYERS = {
  shared: ['shared'],
  gpu: ['gpu', 'shared'],
  formats: ['formats', 'shared'],
  kernels: ['kernels', 'gpu', 'shared', '#shaders'],
  solvers: ['solvers', 'kernels', 'gpu', 'shared'],
  model: ['model', 'formats', 'kernels', 'gpu', 'shared'],
  pipeline: ['pipeline', 'model', 'solvers', 'kernels', 'formats', 'gpu', 'shared'],
  bench: ['bench', 'pipeline', 'model', 'solvers', 'kernels', 'formats', 'gpu', 'shared'],
  engine: ['engine', 'pipeline', 'model', 'solvers', 'kernels', 'formats', 'gpu', 'shared'],
  cli: ['cli', 'engine', 'bench', 'pipeline', 'model', 'solvers', 'kernels', 'formats', 'gpu', 'shared'],
  worker: ['worker', 'engine', 'pipeline', 'model', 'solvers', 'kernels', 'formats', 'gpu', 'shared'],
  // The UI thread never loads GPU code: its imports stay in the UI, the shared pure layer and the
  // worker's message protocol.
  ui: ['ui', 'shared', 'worker/protocol'],
  main: ['ui', 'shared', 'worker/protocol'],
};

function layerOf(srcRoot, file) {
  const rel = path.relative(srcRoot, file).split(path.sep);
  if (rel[0] === '..') return null;
  if (rel.length === 1) return rel[0].replace(/\.[^.]+$/, '');
  return rel[0];
}

/** What an import resolves to, as a LAYERS entry: a folder, `worker/protocol`, or `#shaders`. */
function targetOf(srcRoot, shadersRoot, file, source) {
  if (!source.startsWith('.')) return null; // packages
  const resolved = path.resolve(path.dirname(file), source.replace(/\?.*$/, ''));
  if (!path.relative(shadersRoot, resolved).startsWith('..')) return '#shaders';
  const rel = path.relative(srcRoot, resolved).split(path.sep);
  if (rel[0] === '..') return `outside src: ${source}`;
  if (rel[0] === 'worker' && rel[1]?.replace(/\.[^.]+$/, '') === 'protocol') return 'worker/protocol';
  return rel.length === 1 ? rel[0].replace(/\.[^.]+$/, '') : rel[0];
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'Imports must stay within the layer table of eslint/layers.mjs' },
    schema: [],
    messages: { upward: '{{from}} may not import {{to}} ("{{source}}"): allowed are {{allowed}}. See docs/architecture.md.' },
  },
  create(context) {
    const file = context.filename;
    const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
    const srcRoot = path.join(root, 'src');
    const shadersRoot = path.join(root, 'shaders');
    const from = layerOf(srcRoot, file);
    if (!from || !(from in LAYERS)) return {};
    const allowed = LAYERS[from];
    const check = (node, source) => {
      if (typeof source !== 'string') return;
      const to = targetOf(srcRoot, shadersRoot, file, source);
      if (to === null) return;
      const ok = allowed.includes(to) || (to === 'worker/protocol' && allowed.includes('worker'));
      if (!ok) context.report({ node, messageId: 'upward', data: { from, to, source, allowed: allowed.join(', ') } });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};

export default { rules: { 'allowed-imports': rule } };
