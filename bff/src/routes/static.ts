import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Context, Next } from 'koa';
import send from 'koa-send';

/**
 * Serves the built SPA. Hashed assets under `/assets/` are cached for a year; `index.html` is
 * revalidated every time and answers any unknown GET that accepts HTML (client-side routes).
 * koa-send refuses paths outside `root`, hidden files and malformed encodings.
 */
export function staticFiles(dir: string) {
  const root = resolve(dir);
  return async function staticFiles(ctx: Context, next: Next) {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path.startsWith('/bff/')) return next();
    if (!existsSync(root)) {
      ctx.status = 503;
      ctx.type = 'text/plain';
      ctx.body = 'The web app is not built. Run `npm run build`.';
      return;
    }
    const isAsset = ctx.path.startsWith('/assets/');
    try {
      await send(ctx, ctx.path, {
        root,
        index: 'index.html',
        maxage: isAsset ? 365 * 24 * 3600 * 1000 : 0,
        immutable: isAsset,
        setHeaders: (res) => {
          if (!isAsset) res.setHeader('Cache-Control', 'no-cache');
        },
      });
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status !== 404 && status !== 400 && status !== 403) throw error;
    }
    if (ctx.body !== undefined && ctx.body !== null) return;
    if (!isAsset && ctx.accepts('html') === 'html') {
      await send(ctx, 'index.html', { root, setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache') });
      return;
    }
    await next();
  };
}
