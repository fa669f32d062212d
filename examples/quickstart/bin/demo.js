#!/usr/bin/env node
// The demo runs its TypeScript and the packages' sources directly (no build step), which needs Node's
// built-in type stripping (on by default since Node 22.18) and module.registerHooks (22.15).
import module from 'node:module';

if (!process.features.typescript || typeof module.registerHooks !== 'function') {
  console.error(
    `The demo runs TypeScript directly and needs Node.js 22.18 or newer; this is ${process.version}.\n` +
      'The tests (pnpm test) run on Node 22.12 and newer.',
  );
  process.exit(1);
}
// The emulator keeps its queues in node:sqlite, which Node 22 flags as experimental: not news for a demo.
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) =>
  String(warning?.message ?? warning).includes('SQLite')
    ? undefined
    : emitWarning.call(process, warning, ...rest);

await import('../src/register.ts');
await import('../src/cli.ts');
