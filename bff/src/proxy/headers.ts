import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus proxy-only ones. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Never forwarded upstream: browser credentials, our CSRF header, and anything we set ourselves. */
const NOT_FORWARDED = new Set([
  ...HOP_BY_HOP,
  'host',
  'cookie',
  'authorization',
  'x-csrf',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
]);

/** Never returned to the browser: hop-by-hop headers and upstream cookies. */
const NOT_RETURNED = new Set([...HOP_BY_HOP, 'set-cookie', 'set-cookie2']);

/** Headers named in a `Connection` header are hop-by-hop too. */
function connectionTokens(value: string | string[] | undefined): string[] {
  // The usual values name no header: skip the parsing on the hot path.
  if (!value || value === 'keep-alive' || value === 'close') return [];
  return (Array.isArray(value) ? value.join(',') : value).split(',').map((token) => token.trim().toLowerCase());
}

/** Builds the upstream request headers: the browser's safe headers plus bearer token and X-Forwarded-*. */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  extra: { accessToken?: string; clientIp: string; proto: string; host: string; requestId?: string },
): Record<string, string | string[]> {
  const dropped = connectionTokens(incoming.connection);
  const headers: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || NOT_FORWARDED.has(name) || name.startsWith('proxy-')) continue;
    if (dropped.length && dropped.includes(name)) continue;
    headers[name] = value;
  }
  if (extra.accessToken) headers.authorization = `Bearer ${extra.accessToken}`;
  headers['x-forwarded-for'] = extra.clientIp;
  headers['x-forwarded-proto'] = extra.proto;
  headers['x-forwarded-host'] = extra.host;
  if (extra.requestId) headers['x-request-id'] = extra.requestId;
  return headers;
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

/**
 * Reads one cookie from a Cookie header without parsing the rest (the proxy's hot path).
 * Returns undefined when absent or when the name appears more than once (ambiguous).
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let found: string | undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at === -1 || part.slice(0, at).trim() !== name) continue;
    if (found !== undefined) return undefined;
    found = part.slice(at + 1).trim();
  }
  return found;
}
