import type { ApiRoute } from '../api-routes.js';

/** A request under an API route, resolved to the upstream path (query kept as received). */
export interface ResolvedRoute {
  route: ApiRoute;
  /** Path and query to request from the upstream, base path included. */
  upstreamPath: string;
}

// Encoded dot, slash and backslash could be decoded by an upstream into a traversal; an encoded
// `%` is double encoding (`%252e` becomes `%2e` after one decode, `.` after two); an encoded `;`
// would hide a `..;` segment from the check below. Encoded control characters (`%00`-`%1F`,
// `%7F`) end or split a path in some upstreams (`%00` in C, `%0a` in logs and header lines).
const REFUSED_ESCAPE = /%(2e|2f|5c|25|3b|[01][0-9a-f]|7f)/i;

// What can make an upstream read a path as another one under a different route: escapes of
// unreserved characters (`%61dmin` is `admin`), `;` parameters (`admin;x` is `admin` to servlet
// containers) and letters in another case (`Admin` is `admin` to case-insensitive servers).
// A path without any of these is matched as it is, with no extra work.
const MAY_NAME_ANOTHER_ROUTE = /[%;A-Z]/;
/** `%XX` of an unreserved letter, digit, `-`, `_` or `~` (`.` is refused above). */
const UNRESERVED_ESCAPE = /%(2d|3[0-9]|[46][1-9a-f]|[57][0-9a]|5f|7e)/gi;
const PARAMETERS = /;[^/]*/g;

/**
 * Finds the API route for a raw request URL and builds the upstream path. Returns `undefined`
 * when no prefix matches and `'invalid'` for paths that could escape the route: a leading `//`
 * (a network-path reference names another host), dot segments (also with `;` parameters, `..;`),
 * encoded `.`, `/`, `\`, `%` or control characters, backslashes, escapes that are not valid
 * UTF-8 (overlong `%c0%ae` is a dot to some decoders), a `#` anywhere, and paths that select
 * another route once unreserved escapes are decoded, `;` parameters removed and letters
 * lower-cased (`/api/%61dmin`, `/api/admin;x`, `/api/Admin` when `/api/admin` is a route).
 * The remainder is forwarded exactly as received.
 */
export function resolveApiPath(routes: readonly ApiRoute[], rawUrl: string): ResolvedRoute | 'invalid' | undefined {
  const route = matchRoute(routes, rawUrl, false);
  if (route === undefined) return undefined;
  // A browser never sends `#` (the fragment stays in the page), and the request-target grammar
  // has none; upstreams disagree on whether it ends the path (a WebSocket client library throws).
  if (rawUrl.includes('#')) return 'invalid';
  const queryAt = rawUrl.indexOf('?');
  const fullPath = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
  const path = fullPath.slice(route.prefix.length);
  if (!isSafePath(path)) return 'invalid';
  if (MAY_NAME_ANOTHER_ROUTE.test(fullPath) && matchRoute(routes, normalise(fullPath), true) !== route) return 'invalid';
  const query = queryAt === -1 ? '' : rawUrl.slice(queryAt);
  const base = route.upstream.pathname.endsWith('/') ? route.upstream.pathname.slice(0, -1) : route.upstream.pathname;
  return { route, upstreamPath: `${base}${path || '/'}${query}` };
}

/**
 * The first (longest, as `parseRoutes` sorts them) route whose prefix is a whole-segment prefix
 * of `url` (`/apix` is not under `/api`; `/api#x` is, and is refused).
 */
function matchRoute(routes: readonly ApiRoute[], url: string, lowerCasePrefixes: boolean): ApiRoute | undefined {
  for (const route of routes) {
    const prefix = lowerCasePrefixes ? route.prefix.toLowerCase() : route.prefix;
    if (!url.startsWith(prefix)) continue;
    const next = url[prefix.length];
    if (next === undefined || next === '/' || next === '?' || next === '#') return route;
  }
  return undefined;
}

/** The path as a lenient upstream could read it: unreserved escapes decoded, `;` parameters gone, lower case. */
function normalise(path: string): string {
  const decoded = path.includes('%')
    ? path.replace(UNRESERVED_ESCAPE, (escape) => String.fromCharCode(parseInt(escape.slice(1), 16)))
    : path;
  return (decoded.includes(';') ? decoded.replace(PARAMETERS, '') : decoded).toLowerCase();
}

function isSafePath(path: string): boolean {
  // `//host/x` is a network-path reference: resolved against a URL it names another host.
  if (path.startsWith('//')) return false;
  if (path.includes('\\')) return false;
  if (path.includes('%') && (REFUSED_ESCAPE.test(path) || !isValidUtf8Escaping(path))) return false;
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
