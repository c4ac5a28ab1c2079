import Router from '@koa/router';
import type { Deps } from '../context.js';

/** Liveness, readiness (store reachable and provider metadata loaded) and Prometheus metrics. */
export function healthRoutes({ kv, oidc, metrics }: Deps): Router {
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
  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  return router;
}
