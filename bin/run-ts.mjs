#!/usr/bin/env node
// `node bin/run-ts.mjs <script.ts> [args]`: runs a TypeScript script of the repo (benchmarks, tools).
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

await import('./register.mjs');
const script = process.argv[2];
if (!script) {
  process.stderr.write('usage: node bin/run-ts.mjs <script.ts> [args]\n');
  process.exit(2);
}
process.argv.splice(2, 1);
// Scripts that are also imported as modules (by tests, by other scripts) run their main only as the entry.
process.env.RUN_TS_ENTRY = resolve(script);
await import(pathToFileURL(resolve(script)).href);
