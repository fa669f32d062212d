import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

const root = import.meta.dirname;

// Every workspace package is a vitest project; tests import packages from source, so no build is needed.
const dirs = ['packages', 'examples'].flatMap((group) =>
  existsSync(join(root, group))
    ? readdirSync(join(root, group), { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(root, group, d.name, 'package.json')))
        .map((d) => `${group}/${d.name}`)
    : [],
);

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@glasswork\/example-([a-z0-9-]+)$/, replacement: join(root, 'examples/$1/src/index.ts') },
      { find: /^@glasswork\/([a-z0-9-]+)$/, replacement: join(root, 'packages/$1/src/index.ts') },
      { find: /^@glasswork\/([a-z0-9-]+)\/([a-z0-9-]+)$/, replacement: join(root, 'packages/$1/src/$2.ts') },
    ],
  },
  test: {
    // Embedded servers (PGlite, the SQS emulator) can take a while to start on a busy 2-core machine.
    hookTimeout: 60_000,
    projects: [...dirs, 'docs'].map((dir) => ({
      extends: true,
      test: {
        name: dir.split('/').at(-1),
        root: join(root, dir),
        include: ['test/**/*.test.ts'],
      },
    })),
  },
});
