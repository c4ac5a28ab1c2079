import { parseRoutes } from '../bff/src/api-routes.js';

/** One entry of Vite's `server.proxy` table (the subset the kit sets). */
export interface ViteProxyEntry {
  target: string;
  /** Keep the browser's Host: the BFF builds nothing from it, and cookies stay the dev server's. */
  changeOrigin: false;
  xfwd: true;
  /** WebSocket upgrades too: the BFF decides which routes accept them (`websocket=true`). */
  ws: true;
}

/** `API_ROUTES`' prefixes, or the BFF's own default route (`/api`) when it is unset. */
function routePrefixes(apiRoutes: string | undefined): string[] {
  if (!apiRoutes?.trim()) return ['/api'];
  // The BFF refuses a bad table at start with one line per problem; here the good entries are enough.
  return parseRoutes(apiRoutes, 1).routes.map((route) => route.prefix);
}

/**
 * Vite's `server.proxy` table for `npm run dev`: `/bff` and every `API_ROUTES` prefix go to the
 * BFF at `bffUrl`, WebSocket upgrades included, so the dev server serves the SPA and nothing
 * else. Keys are anchored patterns (`^/api(?=[/?]|$)`): a prefix matches whole path segments
 * only, as in the BFF, so an SPA path like `/apiary` stays with Vite.
 */
export function viteProxyTable(bffUrl: string, apiRoutes: string | undefined): Record<string, ViteProxyEntry> {
  const entry: ViteProxyEntry = { target: bffUrl, changeOrigin: false, xfwd: true, ws: true };
  const prefixes = ['/bff', ...routePrefixes(apiRoutes)];
  return Object.fromEntries(prefixes.map((prefix) => [`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=[/?]|$)`, { ...entry }]));
}
