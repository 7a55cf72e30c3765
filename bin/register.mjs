/**
 * Lets Node run the TypeScript sources with no build step: tsx compiles them on import and our
 * hook serves `*.wgsl?raw` imports as strings, as Vite does in the browser build.
 */
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

const { register: registerTsx } = await import('tsx/esm/api');
registerTsx({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
// Registered after tsx, so it runs first and tsx never sees `?raw` specifiers.
register(new URL('./wgsl-loader.mjs', import.meta.url));
