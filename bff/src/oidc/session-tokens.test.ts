import { describe, expect, it } from 'vitest';
import { BASE_ENV } from '../../../test/support/config-problems.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import type { SessionRecord } from '../session/records.js';
import { MemoryStore } from '../session/memory-store.js';
import { SessionCache } from '../session/session-cache.js';
import { SessionSync } from '../session/session-sync.js';
import { SessionStore } from '../session/sessions.js';
import { TokenVault } from '../session/vault.js';
import { OidcClient } from './client.js';
import { SessionTokens } from './session-tokens.js';

/** A real vault that counts its decryptions. */
class CountingVault extends TokenVault {
  opened = 0;
  override open(sealed: string): string {
    this.opened++;
    return super.open(sealed);
  }
}

describe('SessionTokens.hotOf (what the session cache keeps of a record)', () => {
  it('keeps the opened token set only when asked (the session cache off), so a cache miss leaves nothing behind here', async () => {
    const config = loadConfig(BASE_ENV);
    const log = createLogger({ level: 'silent' });
    const kv = new MemoryStore();
    const sync = new SessionSync(kv, new SessionCache({ entries: 0, bytes: 0 }, 60_000), log);
    const sessions = new SessionStore(kv, { idleSeconds: 60, absoluteSeconds: 600 }, ['k'.repeat(32)], sync, config.issuer.href);
    const vault = new CountingVault(['v'.repeat(32)]);
    const tokens = new SessionTokens({ config, sessions, vault, oidc: new OidcClient(config, log), log, metrics: createMetrics() });
    const now = Math.floor(Date.now() / 1000);
    const record: SessionRecord = {
      sub: 'alice',
      claims: { sub: 'alice' },
      logoutGuard: 'guard',
      createdAt: now,
      expiresAt: now + 600,
      sealedTokens: tokens.seal({ accessToken: 'the-access-token', refreshToken: 'the-refresh-token' }),
      accessExpiresAt: now + 300,
      accessLifetime: 300,
    };

    const first = tokens.hotOf(record, false);
    expect(first.tokens['']!.accessToken).toBe('the-access-token');
    tokens.hotOf(record, false);
    expect(vault.opened).toBe(2); // not kept: each read decrypts (the session cache keeps the result)

    tokens.hotOf(record, true);
    tokens.hotOf(record, true);
    expect(vault.opened).toBe(3); // kept: the second read found it
    expect(tokens.open(record).refreshToken).toBe('the-refresh-token');
    expect(vault.opened).toBe(3);
    await kv.close();
  });
});
