import type { Context, Middleware } from 'koa';

/**
 * Middleware in front of the dev provider (the stack's `idpFront`) that takes over some of its
 * answers: how tests make the real provider answer as other providers do, refuse, or answer slowly.
 */

/** An answer written as is: a bare 400 stays bare (no content type, no body). */
export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

const FORWARDED = 'x-test-forwarded';
export const json = (status: number, body: object, headers: Record<string, string> = {}): Answer => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

function write(ctx: Context, answer: Answer) {
  ctx.respond = false;
  const body = answer.body ?? '';
  ctx.res.writeHead(answer.status, { 'cache-control': 'no-store', ...answer.headers, 'content-length': String(Buffer.byteLength(body)) });
  ctx.res.end(body);
}

/** One POST the front took over: its form, its Authorization header, and a way to pass it on to the provider. */
export interface Intercepted {
  form: URLSearchParams;
  authorization: string | undefined;
  /** Sends the (possibly changed) request to the provider itself and returns its answer. */
  forward(form?: URLSearchParams, authorization?: string): Promise<Answer>;
}

/**
 * Takes over POSTs to `path` while `handler()` returns a handler: reads the form (the provider
 * never sees this request) and answers what the handler answers. The provider is reached again
 * over loopback with a marker header, which this middleware lets through.
 */
export function intercept(path: string, handler: () => ((request: Intercepted) => Promise<Answer>) | undefined): Middleware {
  return async function intercepted(ctx, next) {
    const handle = handler();
    if (!handle || ctx.method !== 'POST' || ctx.path !== path || ctx.get(FORWARDED)) return next();
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) chunks.push(chunk);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const authorization = ctx.get('authorization') || undefined;
    const target = new URL(ctx.originalUrl, `${ctx.protocol}://${ctx.host}`);
    write(
      ctx,
      await handle({
        form,
        authorization,
        async forward(body = form, auth = authorization) {
          const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', [FORWARDED]: '1' };
          if (auth) headers.authorization = auth;
          const response = await fetch(target, { method: 'POST', headers, body });
          const kept: Record<string, string> = {};
          for (const name of ['content-type', 'www-authenticate', 'pragma']) {
            const value = response.headers.get(name);
            if (value) kept[name] = value;
          }
          return { status: response.status, headers: kept, body: await response.text() };
        },
      }),
    );
  };
}
