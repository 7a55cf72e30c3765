#!/usr/bin/env node
/**
 * Entry point of `prune-studio`. Runs the TypeScript sources directly: tsx compiles them on import and
 * our hooks serve `*.wgsl?raw` imports as strings, as Vite does in the browser build.
 */

/** Every failure ends as one line on stderr, never a stack trace. */
function die(error, code = 1) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`prune-studio: error: ${message.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error'}\n`);
  process.exit(code);
}

process.on('uncaughtException', (error) => die(error));
process.on('unhandledRejection', (reason) => die(reason));

let code = 1;
try {
  await import('./register.mjs');
  const { main } = await import('../src/cli/main.ts');
  code = await main(process.argv.slice(2));
} catch (error) {
  die(error);
}
process.exitCode = code;
// Dawn may keep handles alive after the device is destroyed; never let that turn into a hang.
setTimeout(() => process.exit(code), 1000).unref();
