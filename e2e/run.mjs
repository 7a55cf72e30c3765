#!/usr/bin/env node
// `npm run test:e2e` builds with Vite, then runs this: the Playwright suite with our config,
// exiting with its status. Extra arguments are passed on (e.g. a test file or --grep).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const child = spawn('npx', ['playwright', 'test', '-c', join(here, 'playwright.config.ts'), ...process.argv.slice(2)], {
  cwd: join(here, '..'),
  stdio: 'inherit',
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
child.on('error', (error) => {
  console.error(`Could not start Playwright: ${error.message}`);
  process.exit(1);
});
