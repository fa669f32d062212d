import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './snippets.ts';

// A formatter once turned changeset frontmatter into Markdown headings, which `changeset version` rejects.
const dir = join(root, '.changeset');
const files = readdirSync(dir).filter((f) => f.endsWith('.md') && f !== 'README.md');

describe('changesets', () => {
  it.each(files)('%s has frontmatter naming packages and bumps', (file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    const match = /^---\n((?:"@glasswork\/[a-z0-9-]+": (?:major|minor|patch)\n)+)---\n\n\S/.exec(text);
    expect(
      match,
      `${file} must start with ---, lines like "@glasswork/core": minor, then --- and a summary`,
    ).not.toBeNull();
  });
});
