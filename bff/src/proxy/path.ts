import type { ApiRoute } from '../config.js';

/** A request under an API route, resolved to the upstream path (query kept as received). */
export interface ResolvedRoute {
  route: ApiRoute;
  /** Path and query to request from the upstream, base path included. */
  upstreamPath: string;
}

// Encoded dot, slash and backslash could be decoded by an upstream into a traversal.
const ENCODED_SEPARATOR = /%(2e|2f|5c)/i;

/**
 * Finds the API route for a raw request URL and builds the upstream path. Returns `undefined`
 * when no prefix matches and `'invalid'` for paths that could escape the route: dot segments,
 * encoded `.`, `/` or `\`, or backslashes. The remainder is forwarded exactly as received.
 */
export function resolveApiPath(routes: readonly ApiRoute[], rawUrl: string): ResolvedRoute | 'invalid' | undefined {
  for (const route of routes) {
    if (!rawUrl.startsWith(route.prefix)) continue;
    const rest = rawUrl.slice(route.prefix.length);
    if (rest !== '' && rest[0] !== '/' && rest[0] !== '?') continue; // `/apix` is not under `/api`
    const queryAt = rest.indexOf('?');
    const path = queryAt === -1 ? rest : rest.slice(0, queryAt);
    const query = queryAt === -1 ? '' : rest.slice(queryAt);
    if (path.includes('\\') || ENCODED_SEPARATOR.test(path) || hasDotSegment(path)) return 'invalid';
    const base = route.upstream.pathname.endsWith('/') ? route.upstream.pathname.slice(0, -1) : route.upstream.pathname;
    return { route, upstreamPath: `${base}${path || '/'}${query}` };
  }
  return undefined;
}

function hasDotSegment(path: string): boolean {
  if (!path.includes('.')) return false;
  return path.split('/').some((segment) => segment === '.' || segment === '..');
}
