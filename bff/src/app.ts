import type { IncomingMessage, ServerResponse } from 'node:http';
import Koa from 'koa';
import type { Deps } from './deps.js';
import { notFound } from './errors.js';
import { errorHandler } from './middleware/errors.js';
import { requestContext } from './middleware/request-context.js';
import { securityHeadersMiddleware } from './middleware/response-headers.js';
import { LiveConnections } from './proxy/live-connections.js';
import { createApiProxy } from './proxy/proxy.js';
import { createWebSocketProxy } from './proxy/websocket-handshake.js';
import { bffRoutes } from './routes/bff.js';
import { healthRoutes } from './routes/health.js';
import { staticFiles } from './routes/static.js';
import { pathOf, routeClass } from './http/request.js';

/**
 * The BFF, built from its dependencies; opens no socket. `listener` is what the HTTP server
 * calls: API_ROUTES go to the proxy, which runs on Node's request and response directly (the hot
 * path), and everything else to the Koa app.
 */
export function createApp(deps: Deps) {
  const { config, log, metrics } = deps;
  // Koa counts trusted X-Forwarded-For entries from the right, as clientAddress() does.
  const app = new Koa({ proxy: config.trustedProxyHops > 0, maxIpsCount: config.trustedProxyHops });
  // Secure cookies follow PUBLIC_URL: behind a TLS-terminating proxy the hop to us may be plain http.
  if (config.secureCookies) {
    app.use(async function secureCookies(ctx, next) {
      ctx.cookies.secure = true;
      await next();
    });
  }
  app.use(requestContext(log, metrics));
  app.use(errorHandler(log, { hsts: config.secureCookies }));
  app.use(securityHeadersMiddleware({ hsts: config.secureCookies }));
  const bff = bffRoutes(app, deps);
  app.use(bff.routes()).use(bff.allowedMethods());
  const health = healthRoutes(deps);
  app.use(health.routes());
  app.use(staticFiles(config.staticDir));
  app.use(async function nothingMatched() {
    throw notFound();
  });
  app.on('error', (error: unknown) => log.debug({ err: String(error) }, 'koa error event'));
  const live = new LiveConnections(deps.sessions, deps.sync, metrics, log);
  const proxy = createApiProxy(deps, live);
  const websockets = createWebSocketProxy(deps, proxy.credentials, live);
  const koa = app.callback();
  let inFlight = 0;
  const settled = () => inFlight--;
  /** Where a request goes: the proxy (API_ROUTES), else the Koa app. */
  const route = (req: IncomingMessage, res: ServerResponse) => {
    if (proxy.handle(req, res)) return;
    // The Koa side reads small bodies only: let an `Expect: 100-continue` client send it.
    if (req.headers.expect !== undefined) res.writeContinue();
    void koa(req, res);
  };
  const { tracing } = deps;
  return {
    /** The Koa app of the `/bff/*` surface, health and static files (its `callback()` does not include the proxy: use `listener`). */
    koa: app,
    /** What the HTTP server calls for every request: the proxy for API_ROUTES, the Koa app for the rest. */
    listener(req: IncomingMessage, res: ServerResponse) {
      inFlight++;
      res.on('close', settled);
      // Tracing on: the request runs inside its server span, named by route prefix or class (never the path).
      if (tracing) tracing.serve(req, res, proxy.routeOf(req.url ?? '/') ?? routeClass(pathOf(req.url ?? '/')), () => route(req, res));
      else route(req, res);
    },
    /** The server's 'upgrade' listener: WebSockets on `websocket=true` routes, a 4xx answer anywhere else. */
    upgrade: websockets.handle,
    /**
     * Graceful shutdown, once the server stopped accepting: waits (up to `timeoutMs`) for the
     * requests in flight, then closes WebSockets and event streams with "going away" (they
     * would never finish by themselves).
     */
    async drain(timeoutMs: number) {
      websockets.stop();
      const deadline = Date.now() + timeoutMs;
      while (inFlight > live.count('event_stream') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      live.closeAll();
    },
    /** Destroys every socket an upgrade request handed over (Node's closeAllConnections does not see them). */
    destroyUpgradedSockets: websockets.destroyAll,
    /** Sockets handed over by upgrade requests and still open. */
    openUpgradeSockets: () => websockets.openSockets,
    /** Stops background work and closes connections (the store is closed by its owner). */
    async shutdown() {
      deps.oidc.stop();
      websockets.stop();
      live.closeAll();
      live.stop();
      await deps.sync.stop();
      await proxy.close();
      await deps.tracing?.shutdown();
    },
  };
}

export type App = ReturnType<typeof createApp>;
