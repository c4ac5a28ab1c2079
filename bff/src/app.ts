import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Koa from 'koa';
import type { Config } from './config.js';
import type { Deps } from './context.js';
import { notFound } from './errors.js';
import type { Logger } from './logger.js';
import { createMetrics, registerReadiness, type Metrics } from './metrics.js';
import { errorHandler } from './middleware/errors.js';
import { requestContext } from './middleware/request-context.js';
import { securityHeadersMiddleware } from './middleware/security-headers.js';
import { OidcClient } from './oidc/client.js';
import { ClientTokens } from './oidc/client-tokens.js';
import { SessionTokens } from './oidc/session-tokens.js';
import { DpopProofs, randomDpopKey } from './proxy/dpop.js';
import { LiveConnections } from './proxy/live-connections.js';
import { createApiProxy } from './proxy/proxy.js';
import { createWebSocketProxy } from './proxy/websocket-handshake.js';
import { bffRoutes } from './routes/bff.js';
import { healthRoutes } from './routes/health.js';
import { staticFiles } from './routes/static.js';
import type { KeyValueStore } from './session/kv.js';
import { MemoryStore } from './session/memory-store.js';
import { RedisStore, connectRedis } from './session/redis-store.js';
import { HotSessions } from './session/hot-sessions.js';
import { LoginTransactions } from './session/login-transactions.js';
import { LogoutTokenLedger } from './session/logout-tokens.js';
import { SessionCache, type SessionCacheLimits } from './session/session-cache.js';
import { SessionSync } from './session/session-sync.js';
import { SessionStore } from './session/sessions.js';
import { TokenVault } from './session/vault.js';
import { tracedStore } from './tracing/traced-store.js';
import type { Tracing } from './tracing/tracing.js';
import { pathOf, routeClass } from './middleware/request-context.js';

/** Memory bound of the session cache (about 25,000 typical records). */
const SESSION_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * Builds the dependencies from configuration: the store (Redis or memory), the vault, the
 * provider handle (discovery starts in the background) and the token service.
 */
export function createDeps(
  config: Config,
  log: Logger,
  options: {
    kv?: KeyValueStore;
    metrics?: Metrics;
    refreshLockMs?: number;
    sessionCache?: Partial<SessionCacheLimits>;
    /** Started by the caller (see startTracing: loading the SDK is asynchronous); none: tracing off. */
    tracing?: Tracing;
  } = {},
): Deps {
  const { tracing } = options;
  const store = options.kv ?? (config.redisUrl ? new RedisStore(connectRedis(config.redisUrl)) : new MemoryStore());
  // Redis commands become spans only when tracing is on: otherwise the store is not wrapped at all.
  const kv = tracing && store instanceof RedisStore ? tracedStore(store, tracing) : store;
  if (!config.redisUrl && !options.kv) log.warn('REDIS_URL is not set: sessions are kept in memory (development only; lost on restart, not shared)');
  let secrets = config.sessionKeys;
  if (secrets.length === 0) {
    log.warn('SESSION_KEYS is not set: using a random key for this process (development only)');
    secrets = [randomBytes(32).toString('base64url')];
  }
  const vault = new TokenVault(secrets);
  // An entry is served for min(60 s, a tenth of the idle timeout) after the read that slid it.
  const cache = new SessionCache(
    { entries: config.sessionCacheEntries, bytes: SESSION_CACHE_BYTES, ...options.sessionCache },
    Math.min(60_000, config.idleTimeout * 100),
  );
  const sync = new SessionSync(kv, cache, log);
  void sync.start();
  const sessions = new SessionStore(kv, { idleSeconds: config.idleTimeout, absoluteSeconds: config.absoluteTimeout, refreshLockMs: options.refreshLockMs }, secrets, sync, config.issuer.href);
  let dpopKey = config.dpop.key;
  if (config.dpop.enabled && !dpopKey) {
    // Tokens are bound to this key: another instance, or this one after a restart, cannot use them.
    log.warn('OIDC_DPOP=true without DPOP_PRIVATE_KEY: using a random DPoP key for this process (development only; instances cannot share tokens)');
    dpopKey = randomDpopKey();
  }
  const oidc = new OidcClient(config, log, dpopKey);
  const metrics = options.metrics ?? createMetrics(cache);
  if (!options.metrics) registerReadiness(metrics.registry, kv, oidc);
  const sessionTokens = new SessionTokens({ config, sessions, vault, oidc, log, metrics, tracing });
  // The proxy's session cache, made after both services it calls: it reads through the store
  // (which neither caches nor decrypts) and decrypts with sessionTokens.hotOf (sessionTokens
  // needs the store). This order has no cycle, so no closure refers to a later const.
  const hotSessions = new HotSessions(sessions, cache, (record) => sessionTokens.hotOf(record));
  const clientTokens = new ClientTokens({ oidc, log, metrics, tracing });
  const dpop = dpopKey ? new DpopProofs(dpopKey) : undefined;
  return { config, log, kv, sessions, hotSessions, loginTransactions: new LoginTransactions(kv), logoutTokens: new LogoutTokenLedger(kv), sync, vault, oidc, sessionTokens, clientTokens, dpop, metrics, tracing };
}

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
  return Object.assign(app, {
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
  });
}
