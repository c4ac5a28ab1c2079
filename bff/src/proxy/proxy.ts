import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import type { Context, Next } from 'koa';
import { Pool, errors as undiciErrors } from 'undici';
import { ERROR_CODES } from '../../../shared/src/index.js';
import type { ApiRoute } from '../config.js';
import { cookieNames, type Deps } from '../context.js';
import { HttpError, badRequest, unauthenticated } from '../errors.js';
import { SessionStore, type SessionRecord } from '../session/sessions.js';
import { assertSameSiteRequest } from '../middleware/csrf.js';
import { browserResponseHeaders, readCookie, upstreamRequestHeaders } from './headers.js';
import { resolveApiPath } from './path.js';

// A retry replays the request, so only methods without side effects and without a body qualify.
const RETRYABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const INVALID_TOKEN = /error="?invalid_token"?/;

/**
 * The API proxy for every `API_ROUTES` prefix. Why undici: its `Pool.stream()` writes the
 * upstream response straight into Node's response with keep-alive pooling and no intermediate
 * streams, measurably the fastest option on Node (see README, Performance). The session is read
 * with one Redis round trip (GETEX) and no koa-session on this path.
 */
export function apiProxy(deps: Deps) {
  const { config, sessions, tokens, metrics } = deps;
  const sessionCookie = cookieNames(config).session;
  const pools = new Map<string, Pool>();
  for (const route of config.apiRoutes) {
    if (!pools.has(route.upstream.origin)) {
      pools.set(route.upstream.origin, new Pool(route.upstream.origin, { connections: 128, keepAliveTimeout: 30_000 }));
    }
  }
  const forwardedProto = config.publicUrl.protocol.slice(0, -1);
  const forwardedHost = config.publicUrl.host;

  async function session(ctx: Context): Promise<{ id: string; record: SessionRecord }> {
    const id = readCookie(ctx.req.headers.cookie, sessionCookie);
    if (!SessionStore.isId(id)) throw unauthenticated();
    const record = await sessions.load(id);
    if (!record) throw unauthenticated('Your session has ended. Please sign in again.');
    return { id, record };
  }

  /** Sends the request upstream; resolves to 'retry' when the token was refused and a replay is allowed. */
  function forward(ctx: Context, route: ApiRoute, upstreamPath: string, accessToken: string | undefined, mayRetry: boolean) {
    const { req, res } = ctx;
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    const started = performance.now();
    let outcome: 'sent' | 'retry' = 'sent';
    return pools
      .get(route.upstream.origin)!
      .stream(
        {
          path: upstreamPath,
          method: req.method as 'GET',
          headers: upstreamRequestHeaders(req.headers, {
            accessToken,
            clientIp: ctx.ip,
            proto: forwardedProto,
            host: forwardedHost,
            requestId: ctx.state.requestId as string | undefined,
          }),
          body: hasBody ? req : null,
          headersTimeout: config.apiTimeoutMs,
          bodyTimeout: config.apiTimeoutMs,
        },
        ({ statusCode, headers }) => {
          metrics.upstream.observe({ route: route.prefix, outcome: String(statusCode) }, (performance.now() - started) / 1000);
          const challenge = headers['www-authenticate'];
          if (mayRetry && !hasBody && statusCode === 401 && typeof challenge === 'string' && INVALID_TOKEN.test(challenge)) {
            outcome = 'retry';
            return new Writable({ write: (_chunk, _encoding, done) => done() });
          }
          // From here on we own the raw response; Koa must not write its own.
          ctx.respond = false;
          res.writeHead(statusCode, browserResponseHeaders(headers));
          // Small answers usually arrive with their headers in one read: corking until the next
          // tick sends head, body and end in one write instead of three.
          res.cork();
          process.nextTick(uncork, res);
          return res;
        },
      )
      .then(
        () => outcome,
        (error: unknown) => {
          if (ctx.respond === false) {
            // Headers already went out: all we can do is cut the connection so the client sees a failure.
            res.destroy();
            return outcome;
          }
          metrics.upstream.observe({ route: route.prefix, outcome: 'error' }, (performance.now() - started) / 1000);
          throw upstreamFailure(error);
        },
      );
  }

  async function apiProxy(ctx: Context, next: Next) {
    const resolved = resolveApiPath(config.apiRoutes, ctx.req.url ?? '/');
    if (resolved === undefined) return next();
    assertSameSiteRequest(ctx.req.headers); // before anything else: a forged request learns nothing
    if (resolved === 'invalid') throw badRequest('This path is not allowed.');
    const { route, upstreamPath } = resolved;
    const length = Number(ctx.req.headers['content-length'] ?? 0);
    if (length > config.maxBodyBytes) throw new HttpError(413, ERROR_CODES.tooLarge, 'The request body is too large.');
    ctx.state.routeClass = 'proxy';

    if (route.anonymous) {
      await forward(ctx, route, upstreamPath, undefined, false);
      return;
    }
    const { id, record } = await session(ctx);
    const current = await tokens.fresh(id, record);
    const mayRetry = RETRYABLE_METHODS.has(ctx.method);
    const outcome = await forward(ctx, route, upstreamPath, tokens.open(current).accessToken, mayRetry);
    if (outcome === 'retry') {
      const refreshed = await tokens.fresh(id, current, true);
      await forward(ctx, route, upstreamPath, tokens.open(refreshed).accessToken, false);
    }
  }
  /** Closes the upstream connection pools (graceful shutdown). */
  const close = () => Promise.all([...pools.values()].map((pool) => pool.close())).then(() => undefined);
  return Object.assign(apiProxy, { close });
}

const uncork = (res: ServerResponse) => res.uncork();

function upstreamFailure(error: unknown): HttpError {
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
    return new HttpError(504, ERROR_CODES.gatewayTimeout, 'The API did not answer in time.', { cause: error });
  }
  if (error instanceof undiciErrors.RequestAbortedError) {
    return new HttpError(499 as number, ERROR_CODES.badRequest, 'The request was aborted.', { cause: error });
  }
  return new HttpError(502, ERROR_CODES.badGateway, 'The API could not be reached.', { cause: error });
}
