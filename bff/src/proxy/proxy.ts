import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool, errors as undiciErrors } from 'undici';
import { ERROR_CODES } from '../../../shared/src/index.js';
import type { Deps } from '../context.js';
import { cookieNames } from '../session/cookie-names.js';
import { HttpError, badRequest, unauthenticated } from '../errors.js';
import { assertSameSiteRequest } from '../middleware/csrf.js';
import { failureHeaders, logFailure, toHttpError } from '../middleware/errors.js';
import { CLIENT_CLOSED, pathOf, recordRequest, requestIdOf } from '../middleware/request-context.js';
import { refreshDue } from '../oidc/session-tokens.js';
import { SessionStore } from '../session/sessions.js';
import { readCookie, upstreamRequestHeaders } from './headers.js';
import { resolveApiPath, type ResolvedRoute } from './path.js';
import { ResponseRelay, type RelayOutcome } from './relay.js';

// A retry replays the request, so only methods without side effects and without a body qualify.
const RETRYABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The API proxy for every `API_ROUTES` prefix. It runs in front of Koa, on Node's own request
 * and response: the hot path gains nothing from a framework, and skipping it cut the BFF's CPU
 * per proxied call markedly (README, Performance). Per call: one Redis round trip (GETEX), the
 * CSRF check, a cached decryption, and undici's `dispatch()` relaying the upstream answer
 * straight into the response over pooled keep-alive connections.
 */
export function createApiProxy(deps: Deps) {
  const { config, sessions, sessionTokens, metrics, log } = deps;
  const sessionCookie = cookieNames(config).session;
  const pools = new Map<string, Pool>();
  for (const route of config.apiRoutes) {
    if (!pools.has(route.upstream.origin)) {
      pools.set(route.upstream.origin, new Pool(route.upstream.origin, { connections: 128, keepAliveTimeout: 30_000 }));
    }
  }
  const forwardedProto = config.publicUrl.protocol.slice(0, -1);
  const forwardedHost = config.publicUrl.host;
  const errorHeaders = { hsts: config.secureCookies };

  /** The browser's address as Koa would report it: the first X-Forwarded-For entry only behind a trusted proxy. */
  function clientIp(req: IncomingMessage): string {
    const forwarded = config.trustProxy ? req.headers['x-forwarded-for'] : undefined;
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    return first || req.socket.remoteAddress || '';
  }

  /** Sends the request upstream once; resolves to 'retry' when the token was refused and a replay is allowed. */
  function forward(call: ProxyCall, target: ResolvedRoute, accessToken: string | undefined, mayRetry: boolean): Promise<RelayOutcome> {
    const { req, res } = call;
    const { route, upstreamPath } = target;
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    const started = performance.now();
    const relay = new ResponseRelay(res, call.requestId, mayRetry, (statusCode) => {
      metrics.upstream.observe((performance.now() - started) / 1000, route.prefix, String(statusCode));
    });
    call.relay = relay;
    pools.get(route.upstream.origin)!.dispatch(
      {
        path: upstreamPath,
        method: req.method as 'GET',
        headers: upstreamRequestHeaders(req.headers, { accessToken, clientIp: clientIp(req), proto: forwardedProto, host: forwardedHost, requestId: call.requestId }),
        body: hasBody ? req : null,
        headersTimeout: config.apiTimeoutMs,
        bodyTimeout: config.apiTimeoutMs,
      },
      relay,
    );
    return relay.done.catch((error: unknown) => {
      // The browser went away (and we aborted the upstream call): nobody to answer, nothing failed upstream.
      if (res.destroyed && !relay.started) return 'sent' as const;
      if (relay.started) {
        // Headers already went out: all we can do is cut the connection so the browser sees a failure.
        res.destroy();
        return 'sent' as const;
      }
      metrics.upstream.observe((performance.now() - started) / 1000, route.prefix, 'error');
      throw upstreamFailure(error);
    });
  }

  async function proxy(call: ProxyCall): Promise<void> {
    const { req, target } = call;
    assertSameSiteRequest(req.headers); // before anything else: a forged request learns nothing
    if (target === 'invalid') throw badRequest('This path is not allowed.');
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > config.maxBodyBytes) throw new HttpError(413, ERROR_CODES.tooLarge, 'The request body is too large.');
    if (target.route.anonymous) {
      await forward(call, target, undefined, false);
      return;
    }
    const id = readCookie(req.headers.cookie, sessionCookie);
    if (!SessionStore.isId(id)) throw unauthenticated();
    const record = await sessions.load(id);
    if (!record) throw unauthenticated('Your session has ended. Please sign in again.');
    // Checked here, not only inside fresh(): when no refresh is due the hot path skips an await.
    const current = refreshDue(record) ? await sessionTokens.fresh(id, record) : record;
    const outcome = await forward(call, target, sessionTokens.open(current).accessToken, RETRYABLE_METHODS.has(req.method!));
    if (outcome === 'retry') {
      const refreshed = await sessionTokens.fresh(id, current, true);
      await forward(call, target, sessionTokens.open(refreshed).accessToken, false);
    }
  }

  /** Answers a failure before anything was relayed, as JSON with the same headers as every BFF error. */
  function fail(call: ProxyCall, error: unknown) {
    const { req, res } = call;
    const failure = toHttpError(error);
    logFailure(log, failure, error, pathOf(req.url!));
    if (res.headersSent || res.destroyed) return;
    const body = JSON.stringify({ error: failure.code, message: failure.message });
    res.writeHead(failure.status, {
      ...failureHeaders(errorHeaders),
      ...failure.headers,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'x-request-id': call.requestId,
    });
    res.end(body);
  }

  function finish(call: ProxyCall) {
    const { req, res, requestId } = call;
    recordRequest(log, metrics, {
      requestId,
      method: req.method!,
      url: req.url!,
      route: 'proxy',
      status: res.writableFinished ? res.statusCode : CLIENT_CLOSED,
      seconds: (performance.now() - call.started) / 1000,
    });
  }

  /**
   * Takes the request when its path is under an API route and returns true; returns false for
   * everything else (the Koa app answers those).
   */
  function handle(req: IncomingMessage, res: ServerResponse): boolean {
    const resolved = resolveApiPath(config.apiRoutes, req.url ?? '/');
    if (resolved === undefined) return false;
    const call = new ProxyCall(req, res, resolved);
    // The browser left before its answer was complete: stop waiting for the upstream.
    res.once('close', () => {
      if (!res.writableFinished) call.relay?.abort(new Error('the browser closed the connection'));
    });
    proxy(call).catch((error: unknown) => fail(call, error)).finally(() => finish(call));
    return true;
  }

  /** Closes the upstream connection pools (graceful shutdown). */
  const close = () => Promise.all([...pools.values()].map((pool) => pool.close())).then(() => undefined);
  return { handle, close };
}

/** One proxied request's state. */
class ProxyCall {
  readonly started = performance.now();
  readonly requestId: string;
  /** The upstream exchange in progress (a second one after a token refresh). */
  relay: ResponseRelay | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly target: ResolvedRoute | 'invalid',
  ) {
    this.requestId = requestIdOf(req.headers);
  }
}

function upstreamFailure(error: unknown): HttpError {
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
    return new HttpError(504, ERROR_CODES.gatewayTimeout, 'The API did not answer in time.', { cause: error });
  }
  if (error instanceof undiciErrors.RequestAbortedError) {
    return new HttpError(CLIENT_CLOSED, ERROR_CODES.badRequest, 'The request was aborted.', { cause: error });
  }
  return new HttpError(502, ERROR_CODES.badGateway, 'The API could not be reached.', { cause: error });
}
