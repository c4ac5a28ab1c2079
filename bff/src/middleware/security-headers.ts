import type { Context, Next } from 'koa';

/** The CSP of every HTML answer: the SPA is built with no inline script or style. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * Security headers on BFF responses: CSP and framing protection on HTML, nosniff and no
 * referrer everywhere, and `Cache-Control: no-store` on the `/bff/*` surface.
 */
export function securityHeaders(options: { hsts: boolean }) {
  return async function securityHeaders(ctx: Context, next: Next) {
    await next();
    if (ctx.respond === false) return; // proxied responses are the upstream's own
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    if (options.hsts) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    if (ctx.path.startsWith('/bff/')) ctx.set('Cache-Control', 'no-store');
    if (ctx.response.is('html')) {
      ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
      ctx.set('X-Frame-Options', 'DENY');
      ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    }
  };
}
