import type { SealedToken } from '../tokens.js';

/**
 * An upstream that refuses even a brand-new token is misconfigured, not holding a stale one:
 * within this long after a token was obtained, its refusal gets no new grant. Without it,
 * anyone could turn every call into a grant at the provider (docs/budgets.md, grants).
 */
const REFUSAL_COOLDOWN_MS = 10_000;

/** A token's timing as every holder keeps it: expiry and lifetime in seconds, so it was obtained at their difference. */
export type TokenTiming = Pick<SealedToken, 'accessExpiresAt' | 'accessLifetime'>;

/**
 * Whether a token an upstream refused may be replaced by a new grant: only once it is older than
 * the cool-down. The one rule for user and client tokens alike. Called only when an upstream
 * refused a token, never on the hot path.
 */
export function renewable(token: TokenTiming, nowMs = Date.now()): boolean {
  return nowMs - (token.accessExpiresAt - token.accessLifetime) * 1000 >= REFUSAL_COOLDOWN_MS;
}
