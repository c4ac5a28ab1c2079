import type { ServerResponse } from 'node:http';
import type { ErrorBody } from '../../../shared/src/index.js';
import type { HttpError } from '../errors.js';
import { errorPageHtml } from './error-page.js';
import { securityHeaders } from './security-headers.js';

/**
 * The one writer of every error answer. Starts from a clean header set (as Koa's `ctx.onerror`
 * does: nothing a failed handler had set leaks out, cookies included), then adds the security
 * headers, `no-store`, the request id and the error's own safe headers. Browsers that navigated
 * (`page`) get a small HTML page under the strict CSP; everyone else `{ error, reason?, message }` (`reason` on 401s
 * only) and the error's `details`.
 */
export function writeError(res: ServerResponse, failure: HttpError, options: { page: boolean; hsts: boolean; requestId: string }): void {
  if (res.headersSent || res.destroyed) return;
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  const body = options.page
    ? errorPageHtml(failure.title ?? (failure.status >= 500 ? 'Temporarily unavailable' : 'Request refused'), failure.message)
    : JSON.stringify({ error: failure.code, reason: failure.reason, message: failure.message, ...failure.details } satisfies ErrorBody);
  res.writeHead(failure.status, {
    ...securityHeaders({ hsts: options.hsts, html: options.page }),
    ...failure.headers,
    'cache-control': 'no-store',
    'content-type': options.page ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-request-id': options.requestId,
  });
  res.end(body);
}
