import type { Context, Next } from 'koa';
import { securityHeaders } from '../http/security-headers.js';

/**
 * Security headers on the Koa side's successful answers (errors get theirs from `writeError`):
 * see `securityHeaders`, plus `Cache-Control: no-store` on the `/bff/*` surface.
 */
export function securityHeadersMiddleware(options: { hsts: boolean }) {
  const base = securityHeaders({ ...options, html: false });
  const html = securityHeaders({ ...options, html: true });
  return async function securityHeaders(ctx: Context, next: Next) {
    await next();
    // The bare media type (Koa's `type`), not `is('html')`: type-is parses it again per answer.
    ctx.set(ctx.response.type === 'text/html' ? html : base);
    if (ctx.path.startsWith('/bff/')) ctx.set('Cache-Control', 'no-store');
  };
}
