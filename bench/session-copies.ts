/**
 * Signed-in sessions in bulk, for the rows that need many: copies of one real session's Redis
 * record under new ids. Each copy's token set is sealed afresh with a refresh token of its own,
 * so no two sessions ever share a rotating refresh token (a refresh of a copy fails at the
 * provider and ends that copy only; the bench's one-hour access tokens make it not happen).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { TokenVault } from '../bff/src/session/vault.js';
import type { SessionRecord } from '../bff/src/session/records.js';
import type { TokenSet } from '../bff/src/tokens.js';
import { sessionKey } from '../test/support/bff.js';
import { BENCH_SESSION_KEY } from './stack.js';

/** Redis's `used_memory` in bytes. */
export async function redisUsedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? Number.NaN);
}

/**
 * Copies of the session `templateId`, made on demand: `upTo(n)` makes sure the first `n` exist
 * and returns a file listing their ids, one a line (what bench/loadgen.ts reads).
 */
export async function sessionCopies(redis: Redis, templateId: string) {
  const vault = new TokenVault([BENCH_SESSION_KEY]);
  const template = JSON.parse((await redis.get(sessionKey(templateId, BENCH_SESSION_KEY)))!) as SessionRecord;
  const tokens = JSON.parse(vault.open(template.sealedTokens)) as TokenSet;
  const dir = mkdtempSync(join(tmpdir(), 'bench-sessions-'));
  const ids: string[] = [];
  return {
    async upTo(count: number): Promise<string> {
      while (ids.length < count) {
        const pipeline = redis.pipeline();
        for (let i = 0; i < 1000 && ids.length < count; i++) {
          const id = randomBytes(32).toString('base64url');
          const own: TokenSet = { ...tokens, refreshToken: `bench-copy-${randomBytes(24).toString('base64url')}` };
          const record: SessionRecord = {
            ...template,
            publicId: randomBytes(16).toString('base64url'),
            sealedTokens: vault.seal(JSON.stringify(own)),
          };
          pipeline.set(sessionKey(id, BENCH_SESSION_KEY), JSON.stringify(record), 'PX', 3_600_000);
          ids.push(id);
        }
        await pipeline.exec();
      }
      const file = join(dir, `${count}.txt`);
      writeFileSync(file, ids.slice(0, count).join('\n'));
      return file;
    },
  };
}
