import type { KeyValueStore } from './kv.js';
import { redisKeys } from './redis-keys.js';

/**
 * The back-channel logout tokens already used, by issuer and `jti`, shared by every instance:
 * a replayed logout token is refused wherever it arrives. `kind` 'set': the same ledger for the
 * Security Event Tokens of Shared Signals, under keys of its own (a transmitter and the provider
 * may be one issuer).
 */
export class LogoutTokenLedger {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly kind: 'logout' | 'set' = 'logout',
  ) {}

  /**
   * Claims a token atomically (SET NX): true for the first claim, false when it was claimed
   * before. Remembered until `acceptableUntil` (epoch seconds: as long as the token itself could
   * still be accepted), and at least a second.
   */
  async claim(issuer: string, jti: string, acceptableUntil: number): Promise<boolean> {
    const ttlMs = Math.ceil(Math.max(1000, (acceptableUntil - Date.now() / 1000) * 1000));
    return this.kv.set(this.#key(issuer, jti), '1', ttlMs, 'ifAbsent');
  }

  /** Gives a claim back (its logout failed, so the provider's retry must be accepted). */
  async release(issuer: string, jti: string): Promise<void> {
    await this.kv.del([this.#key(issuer, jti)]);
  }

  #key(issuer: string, jti: string): string {
    return (this.kind === 'set' ? redisKeys.setJti : redisKeys.logoutJti)(`${issuer}|${jti}`);
  }
}
