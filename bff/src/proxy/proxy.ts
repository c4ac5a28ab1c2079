import type { IncomingMessage, ServerResponse } from 'node:http';
import { needsSession, usesSession } from '../api-routes.js';
import type { Deps } from '../deps.js';
import { SESSION_END_REASONS } from '../../../shared/src/index.js';
import { CLIENT_CLOSED, badRequest, bodyTooLarge, logFailure, toHttpError, unauthenticated, unavailable } from '../errors.js';
import { VaultError } from '../session/vault.js';
import { Budget, overBudget, type Owner } from './budget.js';
import { createCredentials, type CredentialsDeps, type SignedInUser } from './credentials.js';
import { eventStreams } from './event-streams.js';
import type { LiveConnections } from './live-connections.js';
import { resolveApiPath, type ResolvedRoute } from './path.js';
import { MeteredBody } from './request-body.js';
import { ResponseRelay, type RelayOutcome } from './relay.js';
import { upstreamFailure, upstreamRequests, withNonceRetry } from './upstream-request.js';
import { ProxyCall } from './proxy-call.js';
import { upstreamPools } from './upstream-pools.js';
import { authorize, stepUpRequired } from './step-up.js';
import { writeError } from '../http/error-response.js';
import { assertSameSiteRequest } from '../http/same-site.js';
import { pathOf, recordRequest } from '../http/request.js';
import type { TimedAccessToken } from '../tokens.js';

// A retry replays the request, so only methods without side effects and without a body qualify.
const RETRYABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const EXPECT_CONTINUE = /^100-continue$/i;
/**
 * Proxied calls in flight on one instance (each may hold a buffered body of up to
 * BUFFERED_BODY_BYTES: 128 MiB at most), for callers with and without a session alike.
 */
const MAX_CALLS_PER_INSTANCE = 2048;

/**
 * The API proxy for every `API_ROUTES` prefix. It runs in front of Koa, on Node's own request
 * and response: the hot path gains nothing from a framework (docs/performance.md). One call
 * passes these steps, in order; every failure goes to `fail`, which answers through the one
 * error writer:
 *
 * 1. `sameSite`  X-CSRF and Sec-Fetch-Site, before anything else: a forged request learns nothing.
 * 2. `path`      the route, and a path that cannot escape it (400).
 * 3. `bodyLimit` a declared body above MAX_BODY_BYTES (413) before a byte is read.
 * 4. `admit`     a slot reserved in the caller's budget in one synchronous step (429 over it):
 *                API_MAX_CALLS_PER_SESSION calls per session (per client address without one),
 *                MAX_CALLS_PER_INSTANCE in all; an event stream takes a live-connection slot
 *                instead. Released by `finish`, which every ending of the call reaches.
 * 5. `session`   the session record from the cookie, idle timeout slid (401 without one when the
 *                route's policy needs it); a cookie that named no session: the address pays.
 *    `authorize` `acr`/`max_age`/`require` (step-up.ts): 401 `step_up_required` or 403 `forbidden`.
 * 6. `token`     the route's token: the user's (sign-in, per-resource or exchanged), the BFF's identity
 *                assertion or its own client token, obtained first when due; none for `token=none`.
 * 7. `upload`    the body, metered (413 above the limit, 408 when it stalls or misses
 *                API_BODY_TIMEOUT_MS) and buffered up to BUFFERED_BODY_BYTES before an upstream
 *                connection is taken: a trickling upload holds no pooled connection.
 * 8. `forward`   the upstream call over pooled keep-alive connections, the answer relayed; with a
 *                DPoP-bound token, `Authorization: DPoP` and a fresh proof. An upstream's
 *                `use_dpop_nonce` challenge is answered once with its nonce (`send`).
 * 9. `retry`     once, after a forced refresh, when the upstream refused the token (safe methods
 *                only, and only a token obtained more than 10 s ago: a fresh one's refusal is relayed).
 */
export function createApiProxy(
  deps: Pick<Deps, 'config' | 'dpopProofs' | 'log' | 'metrics' | 'tracing' | 'sessions'> & CredentialsDeps,
  live: LiveConnections,
) {
  const { config, sessions, metrics, log, tracing } = deps;
  const credentials = createCredentials(deps);
  const streams = eventStreams(live, deps.metrics);
  const requests = upstreamRequests(deps);
  const calls = new Budget({
    session: { each: config.maxCallsPerSession, total: MAX_CALLS_PER_INSTANCE },
    address: { each: config.maxCallsPerSession, total: MAX_CALLS_PER_INSTANCE },
  });
  const pools = upstreamPools(config.apiRoutes, config.maxCallsPerSession, live.capacity);

  /** Steps 2-9 for one call. */
  async function proxy(call: ProxyCall): Promise<void> {
    const target = path(call);
    bodyLimit(call);
    const { route } = target;
    // The cookie is read once: the id it names is both the budget's owner and the session looked up.
    const sessionId = usesSession(route) ? credentials.sessionIdOf(call.req.headers.cookie) : undefined;
    admit(call, sessionId);
    const user = usesSession(route) ? await session(call, sessionId, needsSession(route)) : undefined;
    if (route.access !== undefined) authorize(route.access, user!.session, config.publicUrl, call.req.headers.referer);
    let token = credentials.token(route, user);
    if (token instanceof Promise) token = await token; // no await when the token is at hand
    const body = call.hasBody ? await upload(call, route.timeoutMs) : null;
    const mayRetry = token !== undefined && RETRYABLE_METHODS.has(call.req.method!) && !call.hasBody;
    let outcome = await send(call, target, token, body, mayRetry);
    if (outcome === 'retry') outcome = await send(call, target, await credentials.renew(route, user, token!.accessToken), null, false);
    if (outcome === 'step_up') throw stepUpRequired(call.relay!.stepUp!, config.publicUrl, call.req.headers.referer);
  }

  /**
   * 8. `forward`, answering a DPoP nonce challenge once (see withNonceRetry). A call with a
   * streamed body cannot be sent twice: it gets a 503 (not the upstream's 401, which the SPA
   * would read as signed out), and the browser's next attempt carries the nonce.
   */
  async function send(
    call: ProxyCall,
    target: ResolvedRoute,
    token: TimedAccessToken | undefined,
    body: Buffer | MeteredBody | null,
    mayRetry: boolean,
  ): Promise<RelayOutcome> {
    const outcome = await withNonceRetry((nonceRetry) => {
      if (!nonceRetry && body instanceof MeteredBody) throw unavailable('The API asked for a fresh proof of possession. Please try again.');
      return forward(call, target, token, body, mayRetry, nonceRetry);
    });
    return outcome === 'nonce' ? 'sent' : outcome; // asked twice: the second challenge was relayed
  }

  /**
   * 4. Reserves the call's slot before anything is awaited: by the session its cookie names, or
   * by the client address when it names none. Event streams count as live connections instead.
   */
  function admit(call: ProxyCall, sessionId: string | undefined): void {
    const owner: Owner = sessionId === undefined ? { kind: 'address', key: call.clientAddress } : { kind: 'session', key: sessionId };
    call.slot = call.wantsEventStream ? live.reserve(owner) : calls.take(owner);
    if (!call.slot)
      throw call.wantsEventStream ? live.refusal() : overBudget('Too many calls are in progress. Please wait for some to finish.');
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

  /**
   * 5. The session named by the cookie (see Credentials.session); remembered for the failure
   * path. A cookie that named no session had its slot reserved in that name: the caller's
   * address pays for the call instead, so made-up cookies buy no extra calls.
   */
  async function session(call: ProxyCall, sessionId: string | undefined, required: boolean): Promise<SignedInUser | undefined> {
    const user = await credentials.session(sessionId, required);
    call.sessionId = user?.id;
    if (!user && call.slot?.owner.kind === 'session') {
      call.slot = call.slot.moveTo({ kind: 'address', key: call.clientAddress });
      if (!call.slot)
        throw call.wantsEventStream ? live.refusal() : overBudget('Too many calls are in progress. Please wait for some to finish.');
    }
    return user;
  }

  /**
   * 7. The browser's body, once every check passed: only now may a browser that sent
   * `Expect: 100-continue` send it. Resolves when it is whole (small bodies) or big enough to
   * stream; the upstream connection is taken only then.
   */
  async function upload(call: ProxyCall, stallMs: number): Promise<Buffer | MeteredBody> {
    const body = new MeteredBody(
      call.req,
      config.maxBodyBytes,
      stallMs,
      Math.max(0, config.bodyTimeoutMs - (performance.now() - call.started)),
    );
    call.body = body;
    if (EXPECT_CONTINUE.test(call.req.headers.expect ?? '')) call.res.writeContinue();
    const ready = await body.ready;
    return 'whole' in ready ? ready.whole : ready.stream;
  }

  /** 8. Sends the request upstream once; resolves to a RelayOutcome ('nonce' only when `nonceRetry`). */
  function forward(
    call: ProxyCall,
    target: ResolvedRoute,
    token: TimedAccessToken | undefined,
    body: Buffer | MeteredBody | null,
    mayRetry: boolean,
    nonceRetry: boolean,
  ): Promise<RelayOutcome> {
    const { req, res } = call;
    const { route, upstreamPath } = target;
    const proofs = requests.proofsFor(token);
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
    const headers = requests.headers(call, target, req.method!, token, span);
    pools.for(route.upstream.origin, eventStream).dispatch(
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
      if (call.body?.failure) throw call.body.failure; // the body was cut (413/408/504): the upstream did nothing wrong
      metrics.upstream.observe((performance.now() - started) / 1000, route.prefix, 'error');
      throw upstreamFailure(error);
    });
  }

  /** Every failure of a call: logged, and answered by the one error writer when nothing was relayed yet. */
  async function fail(call: ProxyCall, error: unknown): Promise<void> {
    if (error instanceof VaultError && call.sessionId) {
      // Tokens sealed under a retired key can never be used again: end the session.
      await sessions.destroy(call.sessionId, undefined, SESSION_END_REASONS.refreshRefused).catch(() => undefined);
      error = unauthenticated(SESSION_END_REASONS.refreshRefused);
    }
    const failure = toHttpError(error);
    logFailure(log, failure, error, pathOf(call.req.url!));
    writeError(call.res, failure, { page: false, hsts: config.secureCookies, requestId: call.requestId });
  }

  /** Every call ends here, whichever way it ended: its slot and its body are released. */
  function finish(call: ProxyCall) {
    call.slot?.release();
    call.body?.release();
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
    const call = new ProxyCall(req, res, resolved, config.trustedProxyHops);
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

  return { handle, routeOf, close: pools.close, credentials };
}
