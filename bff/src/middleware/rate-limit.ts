import type { Middleware } from 'koa';
import { ERROR_CODES } from '../../../shared/src/index.js';
import { HttpError } from '../errors.js';
import { clientAddress } from '../http/client-address.js';
import type { LoginTransactions } from '../session/login-transactions.js';

const WINDOW_MS = 60_000;

/**
 * Limits sign-in starts per client address (`LOGIN_RATE_LIMIT` per minute; 0 turns it off).
 * With Redis the count is shared by every instance; with the memory store it is per process.
 * The client address is the socket's, or the trusted X-Forwarded-For entry (TRUST_PROXY hops).
 *
 * A fixed window from an address's first start, counted with SET NX PX + INCR in one round trip:
 * two Redis commands. (koa-ratelimit's sliding log took a script of seven, and a sorted-set entry
 * per attempt, on every sign-in.) A window edge can let up to twice the limit through in a minute,
 * which still bounds what one address can make the BFF write.
 */
export function loginRateLimit(logins: LoginTransactions, perMinute: number, trustedProxyHops: number): Middleware {
  return async function loginRateLimit(ctx, next) {
    if (perMinute === 0) return next();
    const address = clientAddress(ctx.req, trustedProxyHops);
    if ((await logins.countStart(address, WINDOW_MS)) > perMinute) {
      // Only a refused start pays for reading when the window ends.
      const endsAtMs = await logins.startsWindowEnd(address, WINDOW_MS);
      throw new HttpError(
        429,
        ERROR_CODES.tooManyRequests,
        'Too many sign-in attempts from your address. Please wait a minute and try again.',
        {
          headers: { 'retry-after': String(Math.max(1, Math.ceil((endsAtMs - Date.now()) / 1000))) },
        },
      );
    }
    return next();
  };
}
