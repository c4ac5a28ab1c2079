/**
 * Which headers may never cross the proxy toward an upstream: the rule the proxy applies and the
 * configuration validates `API_FORWARD_HEADERS` against, in one leaf both import.
 */

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus proxy-only ones. */
export const HOP_BY_HOP = new Set([
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

/**
 * Never forwarded, not even when `API_FORWARD_HEADERS` names them (that is a configuration error):
 * browser credentials, our own CSRF header, and headers upstreams use for routing, method or
 * identity decisions or as client-address claims.
 */
const NEVER_FORWARDED = new Set([
  ...HOP_BY_HOP,
  'host',
  'cookie',
  'authorization',
  'dpop',
  'x-csrf',
  'expect',
  'forwarded',
  'x-real-ip',
  'true-client-ip',
  'x-client-ip',
  'cf-connecting-ip',
  'x-cluster-client-ip',
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-request-id', // the BFF sets its own
]);
const NEVER_FORWARDED_PREFIXES = ['x-forwarded-', 'x-auth-request-', 'proxy-'];

/** Whether a header name (lower case) must never reach an upstream. */
export function isNeverForwarded(name: string): boolean {
  return NEVER_FORWARDED.has(name) || NEVER_FORWARDED_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** `API_FORWARD_HEADERS` entries that are not header names, or that the proxy must never pass on (one line each). */
export function forwardHeaderProblems(names: string[]): string[] {
  return names.flatMap((name) => {
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) return [`API_FORWARD_HEADERS: "${name}" is not a header name`];
    if (isNeverForwarded(name.toLowerCase()))
      return [`API_FORWARD_HEADERS: ${name} must never be forwarded (it carries credentials, routing or client-address claims)`];
    return [];
  });
}
