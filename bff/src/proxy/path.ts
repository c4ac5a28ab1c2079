import type { ApiRoute } from '../api-routes.js';

/** A request under an API route, resolved to the upstream path (query kept as received). */
export interface ResolvedRoute {
  route: ApiRoute;
  /** Path and query to request from the upstream, base path included. */
  upstreamPath: string;
}

// Encoded dot, slash and backslash could be decoded by an upstream into a traversal; an encoded
// `%` is double encoding (`%252e` becomes `%2e` after one decode, `.` after two); an encoded `;`
// would hide a `..;` segment from the check below.
const ENCODED_SEPARATOR = /%(2e|2f|5c|25|3b)/i;

/**
 * Finds the API route for a raw request URL and builds the upstream path. Returns `undefined`
 * when no prefix matches and `'invalid'` for paths that could escape the route: a leading `//`
 * (a network-path reference names another host), dot segments (also with `;` parameters, `..;`), encoded `.`, `/`, `\` or `%`, backslashes, and escapes that
 * are not valid UTF-8 (overlong `%c0%ae` is a dot to some decoders). The remainder is forwarded
 * exactly as received.
 */
export function resolveApiPath(routes: readonly ApiRoute[], rawUrl: string): ResolvedRoute | 'invalid' | undefined {
  for (const route of routes) {
    if (!rawUrl.startsWith(route.prefix)) continue;
    const rest = rawUrl.slice(route.prefix.length);
    if (rest !== '' && rest[0] !== '/' && rest[0] !== '?') continue; // `/apix` is not under `/api`
    const queryAt = rest.indexOf('?');
    const path = queryAt === -1 ? rest : rest.slice(0, queryAt);
    const query = queryAt === -1 ? '' : rest.slice(queryAt);
    if (!isSafePath(path)) return 'invalid';
    const base = route.upstream.pathname.endsWith('/') ? route.upstream.pathname.slice(0, -1) : route.upstream.pathname;
    return { route, upstreamPath: `${base}${path || '/'}${query}` };
  }
  return undefined;
}

function isSafePath(path: string): boolean {
  // `//host/x` is a network-path reference: resolved against a URL it names another host.
  if (path.startsWith('//')) return false;
  if (path.includes('\\')) return false;
  if (path.includes('%') && (ENCODED_SEPARATOR.test(path) || !isValidUtf8Escaping(path))) return false;
  return !hasDotSegment(path);
}

function isValidUtf8Escaping(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

/** `.` or `..` as a segment, also once `;` parameters are removed (`..;x` is `..` to servlet containers). */
function hasDotSegment(path: string): boolean {
  if (!path.includes('.')) return false;
  return path.split('/').some((segment) => {
    const name = segment.includes(';') ? segment.slice(0, segment.indexOf(';')) : segment;
    return name === '.' || name === '..';
  });
}
