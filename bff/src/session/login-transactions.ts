import type { StepUpRequest } from '../oidc/step-up-sign-in.js';
import type { KeyValueStore } from './kv.js';
import { redisKeys } from './redis-keys.js';

/** The login transaction lives 10 minutes, server-side, single use (the login cookie lives as long). */
export const LOGIN_TTL_MS = 10 * 60 * 1000;

/** What the BFF remembers between `/bff/login` and `/bff/callback`. Never sent to the browser. */
export interface LoginTransaction {
  /** SHA-256 of the login cookie: the transaction belongs to the browser holding that cookie. */
  browser: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  /** A step-up's `acr_values` and `max_age`, which the callback checks the ID token against. */
  stepUp?: StepUpRequest;
}

/**
 * Login transactions by their `state`, shared by every instance: the callback may reach another
 * instance than the login did. Each is taken once (GETDEL), so a `state` cannot be replayed.
 */
export class LoginTransactions {
  constructor(private readonly kv: KeyValueStore) {}

  /** Remembers a transaction under its (fresh, random) `state` for {@link LOGIN_TTL_MS}. */
  async save(state: string, transaction: LoginTransaction): Promise<void> {
    await this.kv.set(redisKeys.login(state), JSON.stringify(transaction), LOGIN_TTL_MS);
  }

  /** Counts a sign-in start from `address` in its fixed window of `windowMs` (the login rate limit), this one included. */
  async countStart(address: string, windowMs: number): Promise<number> {
    return this.kv.countInWindow(redisKeys.loginRate(address), windowMs);
  }

  /** When the window of {@link countStart} for `address` ends (epoch ms); only a refused start asks. */
  async startsWindowEnd(address: string, windowMs: number): Promise<number> {
    return (await this.kv.getWithExpiry(redisKeys.loginRate(address)))?.expiresAtMs ?? Date.now() + windowMs;
  }

  /** The transaction of `state`, removed as it is read; undefined when unknown, used or expired. */
  async take(state: string): Promise<LoginTransaction | undefined> {
    const raw = await this.kv.take(redisKeys.login(state));
    return raw === null ? undefined : (JSON.parse(raw) as LoginTransaction);
  }
}
