/** The CSP of every HTML answer: the SPA is built with no inline script or style. */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * The headers every answer the BFF writes itself carries (proxied answers are the upstream's
 * own): nosniff and no referrer always, HSTS on https, CSP and framing protection on HTML.
 */
export function securityHeaders(options: { hsts: boolean; html: boolean }): Record<string, string> {
  const headers: Record<string, string> = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
  if (options.hsts) headers['strict-transport-security'] = 'max-age=31536000; includeSubDomains';
  if (options.html) {
    headers['content-security-policy'] = CONTENT_SECURITY_POLICY;
    headers['x-frame-options'] = 'DENY';
    headers['cross-origin-opener-policy'] = 'same-origin';
  }
  return headers;
}
