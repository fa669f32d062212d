import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';

/** A TypeScript code block of a Markdown file. */
export interface Snippet {
  /** Markdown file, relative to the repository root. */
  readonly source: string;
  readonly line: number;
  /** Where the block is written, absolute. */
  readonly file: string;
  /** Marked `run`: executed by the docs test, not only compiled. */
  readonly run: boolean;
}

export const root = join(import.meta.dirname, '..', '..');
export const outDir = join(root, '.snippets');

/** The Markdown files whose code blocks are checked: every README and the guides. */
export function markdownFiles(): string[] {
  const found = ['README.md'];
  for (const group of ['packages', 'examples']) {
    for (const entry of safeList(join(root, group))) found.push(`${group}/${entry}/README.md`);
  }
  for (const entry of safeList(join(root, 'docs'))) if (entry.endsWith('.md')) found.push(`docs/${entry}`);
  return found.filter((file) => {
    try {
      readFileSync(join(root, file));
      return true;
    } catch {
      return false;
    }
  });
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

const FENCE = /^```(?:ts|typescript)([^\n]*)\n([\s\S]*?)^```/gm;

/**
 * Writes every ```ts block to `.snippets/<markdown path>/`, named by its `title="…"` (so blocks of one page
 * can import each other) or by its position. Blocks marked `nocheck` are skipped.
 */
export function extractSnippets(): Snippet[] {
  const sources = markdownFiles();
  rmSync(outDir, { recursive: true, force: true });
  for (const source of sources)
    rmSync(join(root, dirname(source), '.snippets'), { recursive: true, force: true });
  const snippets: Snippet[] = [];
  const dirs = new Set<string>();
  for (const source of sources) {
    const text = readFileSync(join(root, source), 'utf8');
    // Beside the Markdown file, so imports resolve from that package's own dependencies.
    const dir = join(root, dirname(source), '.snippets', basename(source).replace(/[^a-zA-Z0-9]+/g, '-'));
    dirs.add(relative(outDir, join(root, dirname(source), '.snippets')));
    let index = 0;
    for (const match of text.matchAll(FENCE)) {
      const info = match[1] ?? '';
      if (/\bnocheck\b/.test(info)) continue;
      const title = /title="([^"]+)"/.exec(info)?.[1] ?? `snippet-${++index}.ts`;
      const file = join(dir, title);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, match[2] ?? '');
      const line = text.slice(0, match.index).split('\n').length;
      snippets.push({ source, line, file, run: /\brun\b/.test(info) });
    }
  }
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, 'tsconfig.json'),
    JSON.stringify(
      {
        extends: relative(outDir, join(root, 'tsconfig.base.json')),
        compilerOptions: {
          noEmit: true,
          noUnusedLocals: false,
          paths: {
            '@glasswork/example-*': [`${relative(outDir, join(root, 'examples'))}/*/src/index.ts`],
            '@glasswork/sqs/local': [`${relative(outDir, join(root, 'packages'))}/sqs/src/local.ts`],
            '@glasswork/*': [`${relative(outDir, join(root, 'packages'))}/*/src/index.ts`],
          },
        },
        include: [...dirs].map((dir) => `${dir}/**/*.ts`),
      },
      null,
      2,
    ),
  );
  return snippets;
}
