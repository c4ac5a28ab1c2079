import type { TokenTarget } from '../api-routes.js';
import type { SealedToken } from '../tokens.js';

/* When a token is due, how long a new one lives, and what a route's own token is asked for:
 * shared by the session's grants, the exchange grant, the client's tokens and the proxy. */

/**
 * Refresh is due when less than min(30 s, half the token's lifetime) remains.
 * A token that is already expired is always due.
 */
export function refreshDue(record: Pick<SealedToken, 'accessExpiresAt' | 'accessLifetime'>, nowSeconds = Date.now() / 1000): boolean {
  return record.accessExpiresAt - nowSeconds < Math.min(30, record.accessLifetime / 2);
}

/** Access token lifetime from a token response; a missing `expires_in` counts as one hour. */
export function accessTiming(expiresIn: number | undefined, nowSeconds = Math.floor(Date.now() / 1000)) {
  const lifetime = expiresIn && expiresIn > 0 ? expiresIn : 3600;
  return { accessExpiresAt: nowSeconds + lifetime, accessLifetime: lifetime };
}

/** The grant parameters of a route's own token. */
export function targetParams(target: TokenTarget): Record<string, string> {
  return { ...(target.resource ? { resource: target.resource } : {}), ...(target.scope ? { scope: target.scope } : {}) };
}
