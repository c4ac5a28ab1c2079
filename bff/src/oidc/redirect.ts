import type { Context } from 'koa';

/**
 * Answers 302 to `location`, which must already be a serialised URL or path (URL.href, or what
 * safeReturnTo gives: percent-encoded, so always a valid header). Koa's `ctx.redirect` would also
 * negotiate an HTML or text body with the Accept header (accepts, negotiator, type-is): work no
 * browser shows, twice per sign-in.
 */
export function redirect(ctx: Context, location: string): void {
  ctx.status = 302;
  ctx.set('Location', location);
}
