import type { Context, Next } from 'koa';
import { assertSameSiteRequest } from '../http/same-site.js';

/** The same-site check (`http/same-site.ts`) as Koa middleware, for the `/bff/*` JSON endpoints. */
export function requireCsrfHeader() {
  return async function requireCsrfHeader(ctx: Context, next: Next) {
    assertSameSiteRequest(ctx.req.headers);
    await next();
  };
}
