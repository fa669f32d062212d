import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { extractSnippets, outDir, root } from './snippets.ts';

const snippets = extractSnippets();

describe('code blocks in the documentation', () => {
  it('finds the blocks of every README', () => {
    expect(snippets.length).toBeGreaterThan(0);
  });

  it('compile', () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    try {
      execFileSync(process.execPath, [tsc, '-p', join(outDir, 'tsconfig.json')], { encoding: 'utf8' });
    } catch (error) {
      const output = String((error as { stdout?: string }).stdout ?? error);
      // Point at the Markdown file, not at the generated copy.
      const located = output.replace(/^(\S+\.ts)\((\d+),\d+\)/gm, (_m, file: string, line: string) => {
        const snippet = snippets.find((s) => s.file.endsWith(file.replace(/^(\.\.\/)+/, '')));
        return snippet ? `${snippet.source}:${snippet.line + Number(line)}` : `${file}:${line}`;
      });
      expect.fail(`documentation code does not compile:\n${located}`);
    }
  }, 60_000);

  const runnable = snippets.filter((s) => s.run);
  afterAll(() => vi.restoreAllMocks());
  it.each(runnable.map((s) => [`${s.source}:${s.line}`, s] as const))(
    '%s runs',
    async (_label, snippet) => {
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      await import(snippet.file);
      log.mockRestore();
    },
    30_000,
  );
});
