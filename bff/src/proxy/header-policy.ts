import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { HOP_BY_HOP, isNeverForwarded } from '../http/header-rules.js';

/**
 * Which headers cross the proxy. Browser request headers reach an upstream only from an
 * allowlist: an upstream may trust headers such as X-Original-URL, X-HTTP-Method-Override or
 * X-Forwarded-User, and a denylist can never name every one of them.
 */

/** Always forwarded (besides `accept*` and `if-*`): content, caching, range and tracing headers. */
const FORWARDED = [
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'range',
  'cache-control',
  'pragma',
  'x-requested-with',
  'traceparent',
  'tracestate',
  'baggage',
];

/** Never returned to the browser: hop-by-hop headers, upstream cookies, and DPoP nonces (the BFF's business, RFC 9449 §9). */
const NOT_RETURNED = new Set([...HOP_BY_HOP, 'set-cookie', 'set-cookie2', 'dpop-nonce']);

/** Headers named in a `Connection` header are hop-by-hop too. */
function connectionTokens(value: string | string[] | undefined): string[] {
  // The usual values name no header: skip the parsing on the hot path.
  if (!value || value === 'keep-alive' || value === 'close') return [];
  return (Array.isArray(value) ? value.join(',') : value).split(',').map((token) => token.trim().toLowerCase());
}

/** What the BFF itself adds to every upstream request. */
export interface UpstreamExtras {
  authorization?: string;
  /** The DPoP proof for this call (RFC 9449), with a DPoP-bound token only. */
  dpop?: string;
  /** The client address (TRUST_PROXY applied): the only X-Forwarded-For entry sent. */
  clientAddress: string;
  proto: string;
  host: string;
  requestId: string;
}

/**
 * The request-header policy of one deployment: the allowlist plus `API_FORWARD_HEADERS`
 * (validated by the configuration, which refuses any name {@link isNeverForwarded} matches).
 */
export function requestHeaderPolicy(extraNames: readonly string[]) {
  const forwarded = new Set(['accept', ...FORWARDED, ...extraNames.filter((name) => !isNeverForwarded(name))]);
  // Plus `Accept-*` (content negotiation) and `If-*` (conditional requests).
  const allowed = (name: string) => forwarded.has(name) || name.startsWith('accept-') || name.startsWith('if-');

  /** The upstream request headers: the browser's allowlisted headers plus the BFF's own. */
  return function upstreamRequestHeaders(incoming: IncomingHttpHeaders, extras: UpstreamExtras): Record<string, string | string[]> {
    const dropped = connectionTokens(incoming.connection);
    const headers: Record<string, string | string[]> = {};
    for (const name in incoming) {
      const value = incoming[name];
      if (value === undefined || !allowed(name) || (dropped.length && dropped.includes(name))) continue;
      headers[name] = value;
    }
    if (extras.authorization) headers.authorization = extras.authorization;
    if (extras.dpop) headers.dpop = extras.dpop;
    headers['x-forwarded-for'] = extras.clientAddress;
    headers['x-forwarded-proto'] = extras.proto;
    headers['x-forwarded-host'] = extras.host;
    headers['x-request-id'] = extras.requestId;
    return headers;
  };
}

/** Filters the upstream response headers for the browser. */
export function browserResponseHeaders(upstream: Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const dropped = connectionTokens(upstream.connection);
  const headers: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || NOT_RETURNED.has(name) || (dropped.length && dropped.includes(name))) continue;
    headers[name] = value;
  }
  return headers;
}
