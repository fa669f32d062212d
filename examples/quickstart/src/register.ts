import { registerHooks } from 'node:module';

// Resolve @glasswork/* to the packages' sources, as the tests do: the demo runs on a fresh clone without a
// build (a cold `pnpm build` of every package takes about half a minute; this takes nothing).
const packages = new URL('../../../packages/', import.meta.url);

registerHooks({
  resolve(specifier, context, next) {
    const match = /^@glasswork\/([a-z0-9-]+)(?:\/([a-z0-9-]+))?$/.exec(specifier);
    if (!match) return next(specifier, context);
    const file = new URL(`${match[1]}/src/${match[2] ?? 'index'}.ts`, packages);
    return next(file.href, context);
  },
});
