import { registerHooks } from 'node:module';
import { pathToFileURL } from 'node:url';

// Resolves @glasswork/* to the packages' sources, as the tests do, so the suites and the worker processes
// they start need no build. `node --import ./src/register.ts src/chaos-main.ts`.
const packages = new URL('../../', import.meta.url);
const source = (name: string, file: string) =>
  pathToFileURL(new URL(`${name}/src/${file}.ts`, packages).pathname).href;

registerHooks({
  resolve(specifier, context, next) {
    const match = /^@glasswork\/([a-z0-9-]+)(?:\/([a-z0-9-]+))?$/.exec(specifier);
    if (match) return next(source(match[1] as string, match[2] ?? 'index'), context);
    return next(specifier, context);
  },
});
