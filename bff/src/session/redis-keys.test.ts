import { KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { deriveStorageIdKey, deriveUserIndexKey, redisKeys, storageIdUnder, userHashUnder } from './redis-keys.js';

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

describe('the names sessions are stored under', () => {
  // Pinned values: every live session and user index in Redis is named by these derivations.
  // A change here (a renamed HKDF label, another encoding) signs every user out at the next
  // deploy and orphans their indexes, so it needs a migration, never a refactor.
  it('keeps the storage id derivation (HKDF label session-handle/v1, HMAC-SHA256, base64url)', () => {
    expect(storageIdUnder(deriveStorageIdKey('k'.repeat(32)), 'a-session-id')).toBe('EVh3iW_fIekPdv-gMs0KVf3QaAByW3bNS9mJ6SJG9vA');
    expect(redisKeys.session('x')).toBe('bff:{x}:session');
  });

  it('keeps the per-user index derivation (HKDF label user-index/v1, issuer and sub as JSON)', () => {
    expect(userHashUnder(deriveUserIndexKey('k'.repeat(32)), 'https://issuer.example/', { sub: 'alice' })).toBe(
      'Jtx7yRu8pOj3-4zcRvIA25pE1fwcj8qswQRoIigQskA',
    );
  });

  it('derives its keys as KeyObjects, imported once (raw key bytes are imported anew by every HMAC)', () => {
    for (const key of [deriveStorageIdKey('k'.repeat(32)), deriveUserIndexKey('k'.repeat(32))]) {
      expect(key).toBeInstanceOf(KeyObject);
      expect([key.type, key.symmetricKeySize]).toEqual(['secret', 32]);
    }
  });
});
