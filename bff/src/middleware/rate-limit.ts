import type { Middleware } from 'koa';
import ratelimit from 'koa-ratelimit';
import { clientAddress } from '../http/client-address.js';
import { StoreUnavailableError, type KeyValueStore } from '../session/kv.js';
import { RedisStore } from '../session/redis-store.js';

/**
 * Limits sign-in starts per client address (`LOGIN_RATE_LIMIT` per minute; 0 turns it off).
 * With Redis the count is shared by every instance; with the memory store it is per process.
 * The client address is the socket's, or the trusted X-Forwarded-For entry (TRUST_PROXY hops).
 */
export function loginRateLimit(kv: KeyValueStore, perMinute: number, trustedProxyHops: number): Middleware {
  if (perMinute === 0)
    return async function noLoginRateLimit(_ctx, next) {
      await next();
    };
  const backend = kv instanceof RedisStore ? { driver: 'redis' as const, db: kv.redis } : { driver: 'memory' as const, db: new Map() };
  const limiter = ratelimit({
    ...backend,
    namespace: 'bff:login-rate',
    duration: 60_000,
    max: perMinute,
    id: (ctx) => clientAddress(ctx.req, trustedProxyHops),
    throw: true,
    errorMessage: 'Too many sign-in attempts from your address. Please wait a minute and try again.',
  } as Parameters<typeof ratelimit>[0]) as Middleware;
  return async function loginRateLimit(ctx, next) {
    let passed = false;
    try {
      await limiter(ctx, () => {
        passed = true;
        return next();
      });
    } catch (error) {
      // The limiter's own Redis failure is an outage (503), not a bug; errors from later middleware pass through.
      if (passed || typeof (error as { status?: unknown }).status === 'number') throw error;
      throw new StoreUnavailableError(error);
    }
  };
}
