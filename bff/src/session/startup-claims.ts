import type { KeyValueStore } from './kv.js';
import { redisKeys } from './redis-keys.js';

/**
 * One-time work at start that every instance and worker would otherwise do at once (registering
 * the Shared Signals push stream): the first to claim a name does it, the others see it taken.
 */
export class StartupClaims {
  constructor(private readonly kv: KeyValueStore) {}

  /** True for the first claim of `name` within `ttlMs` (SET NX, shared by every instance). */
  claim(name: string, ttlMs: number): Promise<boolean> {
    return this.kv.set(redisKeys.startupClaim(name), '1', ttlMs, 'ifAbsent');
  }
}
