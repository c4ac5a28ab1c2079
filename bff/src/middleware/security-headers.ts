import type { Context, Next } from 'koa';

/** The CSP of every HTML answer: the SPA is built with no inline script or style. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * Security headers on BFF responses: CSP and framing protection on HTML, nosniff and no
 * referrer everywhere, and `Cache-Control: no-store` on the `/bff/*` surface.
 */
export function securityHeaders(options: { hsts: boolean }) {
  const base = baseSecurityHeaders(options);
  return async function securityHeaders(ctx: Context, next: Next) {
    await next();
    ctx.set(base);
    if (ctx.path.startsWith('/bff/')) ctx.set('Cache-Control', 'no-store');
    if (ctx.response.is('html')) {
      ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
      ctx.set('X-Frame-Options', 'DENY');
      ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    }
  };
}

/** The headers every answer of the BFF's own carries (proxied answers are the upstream's own). */
export function baseSecurityHeaders(options: { hsts: boolean }): Record<string, string> {
  const headers: Record<string, string> = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
  if (options.hsts) headers['strict-transport-security'] = 'max-age=31536000; includeSubDomains';
  return headers;
}
