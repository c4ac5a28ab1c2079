import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool, errors as undiciErrors } from 'undici';
import { ERROR_CODES } from '../../../shared/src/index.js';
import { needsSession, usesSession } from '../api-routes.js';
import { clientAddress } from '../client-address.js';
import type { Deps } from '../context.js';
import { CLIENT_CLOSED, HttpError, badRequest, bodyTooLarge, logFailure, sessionEnded, toHttpError, unavailable, writeError } from '../errors.js';
import { assertSameSiteRequest } from '../middleware/csrf.js';
import { pathOf, recordRequest, requestIdOf } from '../middleware/request-context.js';
import { VaultError } from '../session/vault.js';
import { createCredentials, type UserSession } from './credentials.js';
import { authorizationOf } from './dpop.js';
import { eventStreams } from './event-streams.js';
import type { LiveConnections } from './live-connections.js';
import { requestHeaderPolicy } from './header-policy.js';
import { resolveApiPath, type ResolvedRoute } from './path.js';
import { MeteredBody } from './request-body.js';
import { ResponseRelay, type RelayOutcome } from './relay.js';
import type { OpenToken } from '../session/session-cache.js';
import type { UpstreamSpan } from '../tracing/tracing.js';

// A retry replays the request, so only methods without side effects and without a body qualify.
const RETRYABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const EXPECT_CONTINUE = /^100-continue$/i;
/** Calls that ask for an event stream (as EventSource and the SPA's stream reader do). */
const WANTS_EVENT_STREAM = /text\/event-stream/i;

/**
 * The API proxy for every `API_ROUTES` prefix. It runs in front of Koa, on Node's own request
 * and response: the hot path gains nothing from a framework (README, Performance). One call
 * passes these steps, in order; every failure goes to `fail`, which answers through the one
 * error writer:
 *
 * 1. `sameSite`  X-CSRF and Sec-Fetch-Site, before anything else: a forged request learns nothing.
 * 2. `path`      the route, and a path that cannot escape it (400).
 * 3. `bodyLimit` a declared body above MAX_BODY_BYTES (413) before a byte is read; streamed bodies
 *                are metered as they pass (413 above the limit, 408 when they stall).
 * 4. `session`   the session record from the cookie, idle timeout slid (401 without one when the
 *                route's policy needs it).
 * 5. `token`     the route's token: the user's (sign-in or per-resource) or the BFF's own client
 *                token, obtained or refreshed first when due; none for `token=none`.
 * 6. `forward`   the upstream call over pooled keep-alive connections, the answer relayed; with a
 *                DPoP-bound token, `Authorization: DPoP` and a fresh proof. An upstream's
 *                `use_dpop_nonce` challenge is answered once with its nonce (`send`).
 * 7. `retry`     once, after a forced refresh, when the upstream refused the token (safe methods
 *                only, and only a token obtained more than 10 s ago: a fresh one's refusal is relayed).
 */
export function createApiProxy(deps: Deps, live: LiveConnections) {
  const { config, sessions, metrics, log, dpop } = deps;
  const credentials = createCredentials(deps);
  const streams = eventStreams(live, deps.metrics);
  const upstreamRequestHeaders = requestHeaderPolicy(config.forwardHeaders);
  const pools = new Map<string, Pool>();
  for (const route of config.apiRoutes) {
    if (!pools.has(route.upstream.origin)) {
      pools.set(route.upstream.origin, new Pool(route.upstream.origin, { connections: 128, keepAliveTimeout: 30_000 }));
    }
  }
  // Event streams: unbounded here, bounded by the live-connection limits (LiveConnections.admit).
  const streamPools = new Map<string, Pool>();
  const streamPoolFor = (origin: string) => {
    let pool = streamPools.get(origin);
    if (!pool) streamPools.set(origin, (pool = new Pool(origin, { connections: null, keepAliveTimeout: 5_000 })));
    return pool;
  };
  const forwardedProto = config.publicUrl.protocol.slice(0, -1);
  const forwardedHost = config.publicUrl.host;

  const { tracing } = deps;

  /** Steps 1-7 for one call. */
  async function proxy(call: ProxyCall): Promise<void> {
    const target = path(call);
    bodyLimit(call);
    const { route } = target;
    const user = usesSession(route) ? await session(call, needsSession(route)) : undefined;
    let token = credentials.token(route, user);
    if (token instanceof Promise) token = await token; // no await when the token is at hand
    if (call.wantsEventStream) live.admit(user?.id);
    const mayRetry = token !== undefined && RETRYABLE_METHODS.has(call.req.method!) && !call.hasBody;
    const outcome = await send(call, target, token, mayRetry);
    if (outcome === 'retry') await send(call, target, await credentials.renew(route, user, token!.accessToken), false);
  }

  /**
   * 6. `forward`, and once more when the upstream answered a DPoP proof with a `use_dpop_nonce`
   * challenge (RFC 9449 §9): the challenge means it did not process the call, and the nonce is
   * now remembered for its origin, so the next proof carries it. A call with a body cannot be
   * sent twice: it gets a 503 (not the upstream's 401, which the SPA would read as signed out),
   * and the browser's next attempt carries the nonce.
   */
  async function send(call: ProxyCall, target: ResolvedRoute, token: OpenToken | undefined, mayRetry: boolean): Promise<RelayOutcome> {
    const outcome = await forward(call, target, token, mayRetry, true);
    if (outcome !== 'nonce') return outcome;
    if (call.hasBody) throw unavailable('The API asked for a fresh proof of possession. Please try again.');
    return forward(call, target, token, mayRetry, false);
  }

  /** 2. The resolved route; dot segments and encoded separators are refused. */
  function path(call: ProxyCall): ResolvedRoute {
    if (call.target === 'invalid') throw badRequest('This path is not allowed.');
    return call.target;
  }

  /** 3. A declared Content-Length above the limit is refused before a byte is read. */
  function bodyLimit(call: ProxyCall): void {
    const length = call.req.headers['content-length'];
    if (length !== undefined && Number(length) > config.maxBodyBytes) throw bodyTooLarge();
  }

  /** 4. The session named by the cookie (see Credentials.session); remembered for the failure path. */
  async function session(call: ProxyCall, required: boolean): Promise<UserSession | undefined> {
    const user = await credentials.session(call.req.headers.cookie, required);
    call.sessionId = user?.id;
    return user;
  }

  /**
   * 6. Sends the request upstream once; resolves to 'retry' when the token was refused and a
   * replay is allowed, 'nonce' when the upstream asked for a DPoP nonce and `nonceRetry`.
   */
  function forward(call: ProxyCall, target: ResolvedRoute, token: OpenToken | undefined, mayRetry: boolean, nonceRetry: boolean): Promise<RelayOutcome> {
    const { req, res } = call;
    const { route, upstreamPath } = target;
    // A proof only for a token the provider bound to our key; a Bearer token goes as Bearer.
    const proofs = token?.tokenType === 'dpop' ? dpop : undefined;
    const body = call.hasBody ? new MeteredBody(req, config.maxBodyBytes, route.timeoutMs) : null;
    call.body = body;
    // Only now, with every check passed, may the browser send the body it held back.
    if (body && EXPECT_CONTINUE.test(req.headers.expect ?? '')) res.writeContinue();
    const started = performance.now();
    // Tracing on: the upstream call's client span, whose traceparent the upstream gets.
    const span = tracing?.upstream(route.prefix, req.method!, route.upstream);
    const relay = new ResponseRelay(res, call.requestId, mayRetry ? token : undefined, route.timeoutMs, (statusCode) => {
      metrics.upstream.observe((performance.now() - started) / 1000, route.prefix, String(statusCode));
      span?.end(statusCode);
    });
    call.relay = relay;
    if (proofs) relay.dpop = { proofs, origin: route.upstream.origin, nonceRetry };
    // An event stream lives as long as it has events to send: only its headers are timed, and it
    // gets a connection of its own, so streams never hold up the pool that ordinary calls use.
    const eventStream = call.wantsEventStream;
    if (eventStream) relay.onEventStream = (stream) => streams.add(call, stream);
    const headers = upstreamRequestHeaders(req.headers, {
      authorization: token === undefined ? undefined : authorizationOf(token, dpop),
      dpop: proofs?.proof(req.method!, route.upstream.origin, upstreamPath, token!.accessToken),
      clientAddress: clientAddress(req, config.trustedProxyHops),
      proto: forwardedProto,
      host: forwardedHost,
      requestId: call.requestId,
    });
    if (span) traceContext(headers, span);
    (eventStream ? streamPoolFor(route.upstream.origin) : pools.get(route.upstream.origin)!).dispatch(
      {
        path: upstreamPath,
        method: req.method as 'GET',
        headers,
        body,
        headersTimeout: route.timeoutMs,
        bodyTimeout: eventStream ? 0 : route.timeoutMs,
      },
      relay,
    );
    if (body) void relay.done.finally(() => body.release()).catch(() => undefined);
    return relay.done.catch((error: unknown) => {
      if (!relay.started) span?.end('error');
      // The browser went away (and we aborted the upstream call): nobody to answer, nothing failed upstream.
      if (res.destroyed && !relay.started) return 'sent' as const;
      if (relay.started) {
        // Headers already went out: all we can do is cut the connection so the browser sees a
        // failure (unless we ended the answer ourselves: an event stream whose session ended).
        if (!res.writableEnded) res.destroy();
        return 'sent' as const;
      }
      if (body?.failure) throw body.failure; // the body was cut (413/408): the upstream did nothing wrong
      metrics.upstream.observe((performance.now() - started) / 1000, route.prefix, 'error');
      throw upstreamFailure(error);
    });
  }

  /** Every failure of a call: logged, and answered by the one error writer when nothing was relayed yet. */
  async function fail(call: ProxyCall, error: unknown): Promise<void> {
    if (error instanceof VaultError && call.sessionId) {
      // Tokens sealed under a retired key can never be used again: end the session.
      await sessions.destroy(call.sessionId).catch(() => undefined);
      error = sessionEnded();
    }
    const failure = toHttpError(error);
    logFailure(log, failure, error, pathOf(call.req.url!));
    writeError(call.res, failure, { page: false, hsts: config.secureCookies, requestId: call.requestId });
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
    try {
      assertSameSiteRequest(req.headers); // 1. sameSite
    } catch (error) {
      void fail(call, error).finally(() => finish(call));
      return true;
    }
    proxy(call)
      .catch((error: unknown) => fail(call, error))
      .finally(() => finish(call));
    return true;
  }

  /**
   * The route prefix of an API path (`proxy` for a path the proxy refuses), undefined for paths
   * Koa answers: a span name that no request can vary.
   */
  function routeOf(url: string): string | undefined {
    const resolved = resolveApiPath(config.apiRoutes, url);
    return resolved === 'invalid' ? 'proxy' : resolved?.route.prefix;
  }

  /** Closes the upstream connection pools (graceful shutdown). */
  const close = () => Promise.all([...pools.values(), ...streamPools.values()].map((pool) => pool.close())).then(() => undefined);
  return { handle, routeOf, close, credentials };
}

/** One proxied request's state. */
class ProxyCall {
  readonly started = performance.now();
  readonly requestId: string;
  /** Whether the browser sends a body (declared length above 0, or chunked). */
  readonly hasBody: boolean;
  /** Whether the browser asked for an event stream (`Accept: text/event-stream`): decided once per call. */
  readonly wantsEventStream: boolean;
  sessionId: string | undefined;
  /** The metered request body of the upstream exchange in progress. */
  body: MeteredBody | null = null;
  /** The upstream exchange in progress (a second one after a token refresh). */
  relay: ResponseRelay | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly target: ResolvedRoute | 'invalid',
  ) {
    this.requestId = requestIdOf(req.headers);
    const length = req.headers['content-length'];
    this.hasBody = length !== undefined ? length !== '0' : req.headers['transfer-encoding'] !== undefined;
    this.wantsEventStream = WANTS_EVENT_STREAM.test(req.headers.accept ?? '');
  }
}

/** The upstream span's trace context replaces the browser's (which is that span's grandparent). */
function traceContext(headers: Record<string, string | string[]>, span: UpstreamSpan): void {
  headers.traceparent = span.traceparent;
  if (span.tracestate) headers.tracestate = span.tracestate;
  else delete headers.tracestate;
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
