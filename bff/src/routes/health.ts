import Router from '@koa/router';
import type { Deps } from '../deps.js';
import { notFound } from '../errors.js';

/** Liveness, readiness (store reachable and provider metadata loaded) and Prometheus metrics (unless METRICS_PORT moves them). */
export function healthRoutes({ config, kv, oidc, metrics }: Pick<Deps, 'config' | 'kv' | 'oidc' | 'metrics'>): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const store = await kv.ping().then(
      () => 'ok',
      () => 'unavailable',
    );
    const provider = oidc.ready ? 'ok' : 'unavailable';
    ctx.set('Cache-Control', 'no-store');
    ctx.status = store === 'ok' && provider === 'ok' ? 200 : 503;
    ctx.body = { status: ctx.status === 200 ? 'ready' : 'not_ready', store, provider };
  });
  // With METRICS_PORT, /metrics is served there only (see listen.ts): a 404 here, not the SPA's index.html.
  if (config.metrics.port !== undefined) {
    router.get('/metrics', () => {
      throw notFound();
    });
    return router;
  }
  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  return router;
}
