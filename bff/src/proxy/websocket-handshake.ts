import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { ERROR_CODES } from '../../../shared/src/index.js';
import { needsSession, usesSession } from '../api-routes.js';
import type { Deps } from '../deps.js';
import { HttpError, badRequest, gatewayTimeout, logFailure, toHttpError, unavailable } from '../errors.js';
import { writeError } from '../http/error-response.js';
import { pathOf, recordRequest } from '../http/request.js';
import { closeAfterAnswer } from '../http/server.js';
import type { Owner } from './budget.js';
import type { Credentials } from './credentials.js';
import type { LiveConnections } from './live-connections.js';
import { resolveApiPath, type ResolvedRoute } from './path.js';
import { withNonceRetry } from './upstream-request.js';
import { authorize } from './step-up.js';
import { Handshake, answerOn, upstreamHandshakes } from './websocket-upstream.js';
import { relayWebSocket } from './websocket-relay.js';

/** RFC 6455 §4.1: the key is 16 random bytes, base64. */
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;
/** RFC 9110 token: what a subprotocol name may be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const forbiddenHandshake = (message: string) => new HttpError(403, ERROR_CODES.csrf, message);

/**
 * WebSocket upgrades through the BFF, on `websocket=true` routes only (docs/real-time.md and
 * docs/budgets.md). The handshake is checked before anything is upgraded or forwarded:
 *
 * 1. `route`   an API route with `websocket=true`; anything else gets 400 and is never forwarded.
 * 2. `origin`  `Origin` exactly PUBLIC_URL's origin, and `Sec-Fetch-Site` (when sent)
 *              `same-origin`: a browser cannot put X-CSRF on a handshake, so this is what stops
 *              cross-site WebSocket hijacking (403).
 * 3. `admit`   a live-connection slot reserved in one synchronous step, by the session the cookie
 *              names (else the client address): 429 over the budget.
 * 4. `token`   the route's token policy, as for HTTP (401 without a needed session), and its
 *              `acr`/`max_age`/`require` (401 `step_up_required`, 403 `forbidden`).
 * 5. `connect` the upstream handshake, built by the same builder as HTTP calls (allowlisted
 *              headers, the token and DPoP proof, X-Forwarded-*, the request id, trace context),
 *              plus the subprotocols; a `use_dpop_nonce` challenge answered once. A non-101
 *              answer is relayed as HTTP and nothing is upgraded.
 * 6. `relay`   the browser's handshake completes with the upstream's subprotocol; frames flow
 *              (websocket-relay.ts).
 *
 * Every handshake has a deadline (the route's timeout): one that has not completed by then is
 * cut. Every socket the BFF stops serving is destroyed, never only ended (closeAfterAnswer), and
 * every upgrade socket is known, so shutdown can destroy what Node's closeAllConnections cannot see.
 */
export function createWebSocketProxy(
  deps: Pick<Deps, 'config' | 'dpopProofs' | 'log' | 'metrics' | 'tracing'>,
  credentials: Credentials,
  live: LiveConnections,
) {
  const { config, metrics, log } = deps;
  const server = new WebSocketServer({
    noServer: true,
    maxPayload: config.wsMaxMessageBytes,
    perMessageDeflate: false,
    handleProtocols: chosenProtocol,
  });
  /** Every socket an upgrade request handed over, until it closes. */
  const sockets = new Set<Duplex>();
  let stopping = false;

  /** Resolves with the handshake's outcome: 101, or the status relayed instead (0: the browser left). */
  async function upgrade(handshake: Handshake, head: Buffer): Promise<number> {
    const { req, socket } = handshake;
    if (stopping) throw unavailable('The server is shutting down.');
    const target = route(req);
    origin(req);
    const protocols = checkHandshake(req);
    const { route: apiRoute } = target;
    admit(handshake, usesSession(apiRoute) ? credentials.sessionIdOf(req.headers.cookie) : undefined);
    const user = usesSession(apiRoute)
      ? await credentials.session(credentials.sessionIdOf(req.headers.cookie), needsSession(apiRoute))
      : undefined;
    if (!user && handshake.slot?.owner.kind === 'session') {
      handshake.slot = handshake.slot.moveTo(addressOf(handshake));
      if (!handshake.slot) throw live.refusal();
    }
    if (apiRoute.access !== undefined) authorize(apiRoute.access, user!.session, config.publicUrl, req.headers.referer);
    const token = await credentials.token(apiRoute, user);
    const upstream = await withNonceRetry((nonceRetry) => connect(handshake, target, protocols, token, nonceRetry));
    if (typeof upstream === 'number') return upstream;
    if (upstream === 'nonce') return 401; // refused twice: the second refusal was relayed
    // The browser left during the awaits (a half-closed socket stays open until destroyed), the
    // deadline passed, or shutdown began: neither leg may linger.
    if (stopping || socket.destroyed || !socket.readable || handshake.answered) {
      upstream.terminate();
      socket.destroy();
      return 0;
    }
    if (upstream.protocol) upstreamProtocols.set(req, upstream.protocol);
    let upgraded = false;
    handshake.answered = true;
    server.handleUpgrade(req, socket, head, (browser) => {
      upgraded = true;
      relayWebSocket(browser, upstream, user?.id, { stallMs: apiRoute.timeoutMs, messageMs: config.bodyTimeoutMs }, { live, metrics, log });
    });
    // `ws` refuses some handshakes itself (and then never calls back): close both legs.
    setImmediate(() => {
      if (upgraded) return;
      upstream.terminate();
      closeAfterAnswer(socket);
    });
    return 101;
  }

  /** 3. The live-connection slot, before anything is awaited. */
  function admit(handshake: Handshake, sessionId: string | undefined): void {
    handshake.slot = live.reserve(sessionId === undefined ? addressOf(handshake) : { kind: 'session', key: sessionId });
    if (!handshake.slot) throw live.refusal();
  }

  /** The browser's handshake is one `ws` will accept, checked before an upstream leg is opened. */
  function checkHandshake(req: IncomingMessage): string[] {
    if (req.headers['sec-websocket-version'] !== '13' || !WEBSOCKET_KEY.test(req.headers['sec-websocket-key'] ?? '')) {
      throw badRequest('This is not a valid WebSocket handshake.');
    }
    const offered = req.headers['sec-websocket-protocol'];
    if (offered === undefined) return [];
    const protocols = offered.split(',').map((name) => name.trim());
    if (protocols.some((name) => !TOKEN.test(name)) || new Set(protocols).size !== protocols.length)
      throw badRequest('The WebSocket subprotocols are not valid.');
    return protocols;
  }

  /** 1. Only `websocket=true` routes, on a path that cannot escape the route. */
  function route(req: IncomingMessage): ResolvedRoute {
    const resolved = resolveApiPath(config.apiRoutes, req.url ?? '/');
    if (resolved === undefined || resolved === 'invalid' || !resolved.route.websocket)
      throw badRequest('WebSocket upgrades are not accepted here.');
    if (req.method !== 'GET' || req.headers.upgrade?.toLowerCase() !== 'websocket')
      throw badRequest('Only WebSocket upgrades are accepted.');
    return resolved;
  }

  /** 2. The cross-site WebSocket hijacking defense. */
  function origin(req: IncomingMessage): void {
    if (req.headers.origin !== config.publicUrl.origin) throw forbiddenHandshake('This WebSocket must be opened from the app itself.');
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') throw forbiddenHandshake('This WebSocket must be opened from the app itself.');
  }

  /** 5. The upstream handshake (websocket-upstream.ts). */
  const connect = upstreamHandshakes(deps);

  /** Answers a refused handshake over the raw socket, through the one error writer. */
  function refuse(handshake: Handshake, error: unknown): number {
    const { req, socket } = handshake;
    const failure = toHttpError(error);
    logFailure(log, failure, error, pathOf(req.url ?? '/'));
    if (handshake.answered || !socket.writable) {
      socket.destroy();
      return failure.status;
    }
    handshake.answered = true;
    writeError(answerOn(req, socket), failure, { page: false, hsts: config.secureCookies, requestId: handshake.requestId });
    return failure.status;
  }

  /** The handshake's end: its access-log line and request metric, as every HTTP request has. */
  function record(handshake: Handshake, status: number): void {
    recordRequest(log, metrics, {
      requestId: handshake.requestId,
      method: 'GET',
      url: handshake.req.url ?? '/',
      route: 'websocket',
      status,
      seconds: (performance.now() - handshake.started) / 1000,
    });
  }

  /** Runs one handshake under its deadline; every ending releases its slot (the socket's close). */
  function run(handshake: Handshake, head: Buffer, end?: (status: number) => void): void {
    const { socket } = handshake;
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      handshake.slot?.release();
    });
    socket.on('error', () => socket.destroy());
    // A refusal being relayed has a timer of its own; anything not answered by now is cut.
    const deadline = setTimeout(() => {
      if (!handshake.answered) refuse(handshake, gatewayTimeout('The WebSocket could not be opened in time.'));
    }, timeoutOf(handshake.req)).unref();
    upgrade(handshake, head).then(
      (status) => {
        clearTimeout(deadline);
        record(handshake, status);
        end?.(status);
      },
      (error: unknown) => {
        clearTimeout(deadline);
        const status = refuse(handshake, error);
        record(handshake, status);
        end?.(status);
      },
    );
  }

  /** The route's timeout for a handshake on it, API_TIMEOUT_MS anywhere else. */
  function timeoutOf(req: IncomingMessage): number {
    const resolved = resolveApiPath(config.apiRoutes, req.url ?? '/');
    return resolved && resolved !== 'invalid' ? resolved.route.timeoutMs : config.apiTimeoutMs;
  }

  return {
    /** The HTTP server's 'upgrade' listener. */
    handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      const handshake = new Handshake(req, socket, config.trustedProxyHops);
      if (!deps.tracing) return run(handshake, head);
      // Tracing on: the handshake is a server span, named by its route as HTTP requests are.
      const resolved = resolveApiPath(config.apiRoutes, req.url ?? '/');
      const label = resolved === undefined ? 'other' : resolved === 'invalid' ? 'proxy' : resolved.route.prefix;
      void deps.tracing.handshake(
        req,
        label,
        (end) => new Promise<void>((resolve) => run(handshake, head, (status) => resolve(end(status)))),
      );
    },
    /** Shutdown: upgrades from now on get 503, and handshakes in progress do not complete. */
    stop(): void {
      stopping = true;
      server.close();
    },
    /** Destroys every socket an upgrade handed over (shutdown's last step: Node's closeAllConnections does not see them). */
    destroyAll(): void {
      for (const socket of sockets) socket.destroy();
    },
    /** Upgrade sockets still open (tests and shutdown). */
    get openSockets(): number {
      return sockets.size;
    },
  };

  /** Without a session, the client address pays. */
  function addressOf(handshake: Handshake): Owner {
    return { kind: 'address', key: handshake.clientAddress };
  }
}

/** The subprotocol each upstream picked, by the browser's handshake request. */
const upstreamProtocols = new WeakMap<IncomingMessage, string>();

/** The subprotocol the upstream picked is the one the browser gets. */
function chosenProtocol(offered: Set<string>, req: IncomingMessage): string | false {
  const picked = upstreamProtocols.get(req);
  return picked !== undefined && offered.has(picked) ? picked : false;
}
