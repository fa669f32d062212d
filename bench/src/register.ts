import { registerHooks } from 'node:module';
import { pathToFileURL } from 'node:url';

// Resolve @glasswork/* to the packages' sources (as the tests do), so benchmarks need no build.
const packages = new URL('../../packages/', import.meta.url);

registerHooks({
  resolve(specifier, context, next) {
    const match = /^@glasswork\/([a-z0-9-]+)$/.exec(specifier);
    if (match)
      return next(pathToFileURL(new URL(`${match[1]}/src/index.ts`, packages).pathname).href, context);
    return next(specifier, context);
  },
});
