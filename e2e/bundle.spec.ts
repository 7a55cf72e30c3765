/**
 * The main thread's production bundle carries no WGSL: kernels and their shader sources belong to
 * the engine worker's chunk. Reads dist/ as `vite build` wrote it: the entry scripts named by
 * index.html and every chunk they import, but not the worker chunk (started with `new Worker`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { expect, test } from '@playwright/test';
import { REPO } from './helpers';

const DIST = join(REPO, 'dist');
const WGSL = ['@compute', '@group(0)'];

/** Paths (relative to dist/) of the scripts index.html loads and of everything they import, transitively. */
function mainThreadChunks(): string[] {
  const html = readFileSync(join(DIST, 'index.html'), 'utf8');
  const todo = [...html.matchAll(/<(?:script|link)[^>]+(?:src|href)="\/?([^"]+\.js)"/g)].map((m) => m[1]);
  const seen = new Set<string>();
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const code = readFileSync(join(DIST, file), 'utf8');
    // Static and dynamic imports of sibling chunks: `from "./x.js"`, `import("./x.js")`.
    for (const m of code.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+\.js)["']/g)) todo.push(posix.join(posix.dirname(file), m[1]));
  }
  return [...seen];
}

test('the main-thread bundle contains no WGSL source', () => {
  expect(existsSync(join(DIST, 'index.html')), 'dist/ is missing: run `npx vite build` first (npm run test:e2e does).').toBe(true);
  const chunks = mainThreadChunks();
  expect(chunks.length).toBeGreaterThan(0);
  for (const chunk of chunks) {
    expect(chunk, 'the worker chunk must not be reachable by import from the page').not.toMatch(/worker/);
    const code = readFileSync(join(DIST, chunk), 'utf8');
    for (const marker of WGSL) expect(code.includes(marker), `${chunk} contains ${marker}`).toBe(false);
  }
  // The markers are what WGSL looks like in a built chunk: the worker's must have them, or this test checks nothing.
  const pageCode = chunks.map((chunk) => readFileSync(join(DIST, chunk), 'utf8')).join('\n');
  const worker = /engine\.worker-[\w-]+\.js/.exec(pageCode)?.[0];
  expect(worker, 'the page should start the engine worker chunk').toBeTruthy();
  const workerCode = readFileSync(join(DIST, 'assets', worker!), 'utf8');
  expect(WGSL.some((marker) => workerCode.includes(marker))).toBe(true);
});
