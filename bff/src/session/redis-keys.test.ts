import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('..', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('the Redis key layout', () => {
  it('is private to session/: no other bff/src file imports redis-keys.ts', () => {
    const outside = sourceFiles(src)
      .map((path) => relative(src, path))
      .filter((path) => !path.startsWith('session/'))
      .filter((path) => /from '[^']*\/session\/redis-keys\.js'/.test(readFileSync(join(src, path), 'utf8')));
    expect(outside).toEqual([]);
  });
});
