import type { IncomingHttpHeaders } from 'node:http';
import { CSRF_HEADER, CSRF_HEADER_VALUE } from '../../../shared/src/index.js';
import { csrfRefused } from '../errors.js';

const ALLOWED_FETCH_SITES = new Set(['same-origin', 'none']);

/**
 * Anti-CSRF for JSON endpoints and proxied calls: `X-CSRF: 1` must be present (a custom header
 * forces a CORS preflight that other origins cannot pass) and `Sec-Fetch-Site`, when the browser
 * sends it, must say the request came from our own origin. The Koa side runs it as middleware
 * (`requireCsrfHeader`), the proxy inline on its hot path.
 */
export function assertSameSiteRequest(headers: IncomingHttpHeaders): void {
  const site = headers['sec-fetch-site'];
  if (headers[CSRF_HEADER] !== CSRF_HEADER_VALUE || (site !== undefined && !ALLOWED_FETCH_SITES.has(site as string))) {
    throw csrfRefused();
  }
}
