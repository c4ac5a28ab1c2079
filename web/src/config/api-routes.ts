import type { RouteInfo } from '../../../shared/src/index.js';

/**
 * The route the BFF would send `path` to, as its proxy picks it: the longest prefix that is a
 * whole-segment prefix of the path (`/apix` is not under `/api`). Undefined: no route serves it,
 * and a call would be a 404.
 */
export function routeFor(routes: readonly RouteInfo[], path: string): RouteInfo | undefined {
  let best: RouteInfo | undefined;
  for (const route of routes) {
    const under = path === route.prefix || path.startsWith(`${route.prefix}/`);
    if (under && (!best || route.prefix.length > best.prefix.length)) best = route;
  }
  return best;
}

/** A call to `path` reaches an API through the BFF. */
export const canCall = (routes: readonly RouteInfo[], path: string): boolean => routeFor(routes, path) !== undefined;

/** A WebSocket to `path` is accepted: its route exists and takes upgrades (`#websocket=true`). */
export const canOpenSocket = (routes: readonly RouteInfo[], path: string): boolean => routeFor(routes, path)?.websocket === true;
