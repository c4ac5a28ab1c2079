import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The documentation a team reads when it copies the kit stays honest: the README's table of
 * contents leads somewhere, every relative link and anchor resolves, the README stays short, the
 * changelog's newest version is the package's, and nothing points outside the repository.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

/** Folders that hold generated or installed files, not the kit's own text. */
const SKIPPED_DIRS = new Set(['node_modules', '.git', 'dist', 'artifacts', 'results', 'coverage']);
const BINARY = /\.(png|jpe?g|gif|ico|webp|woff2?|pem|der|p12|zip|gz|tgz)$/i;

function repoFiles(dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) return []; // e.g. a node_modules linked into a copy of the repository
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : repoFiles(path);
    return BINARY.test(entry.name) ? [] : [relative(root, path)];
  });
}

/** Markdown lines outside fenced code blocks (a `#` in a shell sample is not a heading). */
function proseLines(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').filter((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count ? `${slug}-${count}` : slug);
  }
  return result;
}

/** Every `[text](target)` and `![alt](target)` in the prose, with its target. */
function links(markdown: string): string[] {
  return proseLines(markdown).flatMap((line) => [...line.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!));
}

const DOCS = [
  'README.md',
  'CONTRIBUTING.md',
  'CHANGELOG.md',
  'SECURITY.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

describe('documentation', () => {
  it('opens the README with a table of contents whose links lead to its headings, one per section', () => {
    const readme = read('README.md');
    const lines = proseLines(readme);
    const contents = lines.findIndex((line) => /^## Contents\s*$/.test(line));
    expect(contents, 'README needs a "## Contents" section').toBeGreaterThanOrEqual(0);
    expect(
      lines.slice(0, contents).some((line) => /^## /.test(line)),
      'the contents come before every section',
    ).toBe(false);
    const end = lines.findIndex((line, i) => i > contents && /^## /.test(line));
    const toc = lines.slice(contents + 1, end).flatMap((line) => [...line.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!));
    const headings = anchors(readme);
    for (const anchor of toc)
      expect(headings.has(anchor), `table of contents links to #${anchor}, a heading that does not exist`).toBe(true);
    const sections = anchors(lines.filter((line) => /^## /.test(line)).join('\n'));
    sections.delete('contents');
    for (const section of sections) expect(toc, `section #${section} is missing from the table of contents`).toContain(section);
  });

  it.each(DOCS)('resolves every relative link and anchor in %s', (doc) => {
    for (const target of links(read(doc))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const [path = '', anchor] = target.split('#');
      const file = path ? join(dirname(join(root, doc)), decodeURIComponent(path)) : join(root, doc);
      expect(existsSync(file), `${doc} links to ${target}, which does not exist`).toBe(true);
      if (anchor === undefined) continue;
      expect(statSync(file).isFile() && file.endsWith('.md'), `${doc} links to an anchor in ${target}, which is not Markdown`).toBe(true);
      expect([...anchors(readFileSync(file, 'utf8'))], `${doc} links to ${target}: no such heading`).toContain(anchor);
    }
  });

  it("names every source file of bff/src and web/src in the README's layout map", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const map = /```\nbff\/src\/[^]*?```/.exec(readme)?.[0] ?? '';
    expect(map).not.toBe('');
    const sources = (dir: string): string[] =>
      readdirSync(join(root, dir)).flatMap((name) => {
        const path = join(dir, name);
        if (statSync(join(root, path)).isDirectory()) return sources(path);
        return /\.(ts|css)$/.test(name) && !/\.(test|d)\.ts$/.test(name) ? [name.replace(/\.ts$/, '')] : [];
      });
    const missing = [...sources('bff/src'), ...sources('web/src')].filter(
      (stem) => !new RegExp(`\\b${stem.replace('.', '\\.')}\\b`).test(map),
    );
    expect(missing).toEqual([]);
  });

  it('keeps the README at most 600 lines (deep dives live in docs/)', () => {
    expect(read('README.md').split('\n').length).toBeLessThanOrEqual(600);
  });

  it("gives the changelog's newest version to package.json and package-lock.json", () => {
    const newest = /^## (\d+\.\d+\.\d+)\b/m.exec(read('CHANGELOG.md'))?.[1];
    const pkg = JSON.parse(read('package.json')) as { version: string };
    const lock = JSON.parse(read('package-lock.json')) as { version: string; packages: Record<string, { version?: string }> };
    expect(newest).toBeDefined();
    expect(pkg.version).toBe(newest);
    expect(lock.version).toBe(newest);
    expect(lock.packages['']?.version).toBe(newest);
  });

  it('points at nothing outside the repository: no design document, no folder beside the checkout', () => {
    // Built from parts, so this file does not name what it looks for.
    const outsideFolder = new RegExp(`\\.\\./${'shared'}(?!/src\\b)`);
    const designWord = new RegExp(`\\b${'DES'}${'IGN'}\\b`);
    const designFile = new RegExp(`${'des'}${'ign'}\\.md`, 'i');
    const offenders = repoFiles().flatMap((file) => {
      if (!statSync(join(root, file)).isFile()) return []; // a link to a folder (a copy's node_modules)
      const text = readFileSync(join(root, file), 'utf8');
      return [
        ...(outsideFolder.test(text) ? [`${file}: a folder outside the checkout`] : []),
        ...(designWord.test(text) || designFile.test(text) ? [`${file}: a design document`] : []),
      ];
    });
    expect(offenders).toEqual([]);
  });
});
