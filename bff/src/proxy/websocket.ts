import { ServerResponse, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { ERROR_CODES } from '../../../shared/src/index.js';
import { needsSession, usesSession } from '../api-routes.js';
import { clientAddress } from '../client-address.js';
import type { Deps } from '../context.js';
import { HttpError, badRequest, logFailure, toHttpError, unavailable, writeError } from '../errors.js';
import { requestIdOf } from '../middleware/request-context.js';
import type { Credentials } from './credentials.js';
import { authorizationOf, type UsableToken } from './dpop.js';
import { browserResponseHeaders } from './header-policy.js';
import type { LiveCloseReason, LiveConnections } from './live-connections.js';
import { resolveApiPath, type ResolvedRoute } from './path.js';

/** Pause reading one side while this much is still queued for the other (backpressure). */
const HIGH_WATER_BYTES = 1024 * 1024;
/** How often the browser leg is pinged; no pong by the next ping ends the connection. */
const PING_MS = 30_000;
/** RFC 6455 §4.1: the key is 16 random bytes, base64. */
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;
/** RFC 9110 token: what a subprotocol name may be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** The close code the SPA reads as "your session ended" (4000-4999 are the application's). */
export const SESSION_ENDED_CLOSE = 4401;
const GOING_AWAY = 1001;

const forbiddenHandshake = (message: string) => new HttpError(403, ERROR_CODES.csrf, message);

/**
 * WebSocket upgrades through the BFF, on `websocket=true` routes only (DESIGN "Real time"). The
 * handshake is checked before anything is upgraded or forwarded:
 *
 * 1. `route`   an API route with `websocket=true`; anything else gets 400 and is never forwarded.
 * 2. `origin`  `Origin` exactly PUBLIC_URL's origin, and `Sec-Fetch-Site` (when sent)
 *              `same-origin`: a browser cannot put X-CSRF on a handshake, so this is what stops
 *              cross-site WebSocket hijacking (403).
 * 3. `token`   the route's token policy, as for HTTP (401 without a needed session).
 * 4. `connect` the upstream handshake: prefix stripped, query kept, the token (with a DPoP
 *              proof for a DPoP-bound one; a `use_dpop_nonce` challenge answered once), the BFF's
 *              own X-Forwarded-*, the subprotocols; never the browser's Cookie. A non-101 answer
 *              is relayed as HTTP and nothing is upgraded.
 * 5. `relay`   the browser's handshake completes with the upstream's subprotocol; frames flow
 *              both ways with backpressure; a close on either side closes the other.
 *
 * `ws` does the framing on both legs (masking, fragmentation, ping/pong, close handshake,
 * permessage-deflate negotiated per leg): a maintained implementation of RFC 6455 rather than
 * frame parsing of our own.
 */
export function createWebSocketProxy(deps: Deps, credentials: Credentials, live: LiveConnections) {
  const { config, metrics, log } = deps;
  const server = new WebSocketServer({ noServer: true, maxPayload: config.maxBodyBytes, perMessageDeflate: false, handleProtocols: chosenProtocol });
  const forwardedProto = config.publicUrl.protocol.slice(0, -1);

  let stopping = false;

  /** Resolves with the handshake's outcome: 101, or the status relayed instead (0: the browser left). */
  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<number> {
    if (stopping) throw unavailable('The server is shutting down.');
    const target = route(req);
    origin(req);
    const protocols = handshake(req);
    const { route: apiRoute } = target;
    const user = usesSession(apiRoute) ? await credentials.session(req.headers.cookie, needsSession(apiRoute)) : undefined;
    live.admit(user?.id);
    const token = await credentials.token(apiRoute, user);
    let upstream = await connect(req, socket, target, protocols, token, true);
    if (upstream === 'nonce') upstream = await connect(req, socket, target, protocols, token, false); // the proof now carries the upstream's nonce
    if (typeof upstream === 'number') return upstream;
    if (upstream === 'nonce') return 401; // refused twice: the second refusal was relayed
    // The browser left during the awaits (a half-closed socket stays open until destroyed), or
    // shutdown began: neither leg may linger.
    if (stopping || socket.destroyed || !socket.readable) {
      upstream.terminate();
      socket.destroy();
      return 0;
    }
    if (upstream.protocol) upstreamProtocols.set(req, upstream.protocol);
    let upgraded = false;
    server.handleUpgrade(req, socket, head, (browser) => {
      upgraded = true;
      relay(browser, upstream, user?.id, target.route.timeoutMs);
    });
    // `ws` refuses some handshakes itself (and then never calls back): close the upstream leg too.
    setImmediate(() => {
      if (!upgraded) upstream.terminate();
    });
    return 101;
  }

  /** The browser's handshake is one `ws` will accept, checked before an upstream leg is opened. */
  function handshake(req: IncomingMessage): string[] {
    if (req.headers['sec-websocket-version'] !== '13' || !WEBSOCKET_KEY.test(req.headers['sec-websocket-key'] ?? '')) {
      throw badRequest('This is not a valid WebSocket handshake.');
    }
    const offered = req.headers['sec-websocket-protocol'];
    if (offered === undefined) return [];
    const protocols = offered.split(',').map((name) => name.trim());
    if (protocols.some((name) => !TOKEN.test(name)) || new Set(protocols).size !== protocols.length) throw badRequest('The WebSocket subprotocols are not valid.');
    return protocols;
  }

  /** 1. Only `websocket=true` routes, on a path that cannot escape the route. */
  function route(req: IncomingMessage): ResolvedRoute {
    const resolved = resolveApiPath(config.apiRoutes, req.url ?? '/');
    if (resolved === undefined || resolved === 'invalid' || !resolved.route.websocket) throw badRequest('WebSocket upgrades are not accepted here.');
    if (req.method !== 'GET' || req.headers.upgrade?.toLowerCase() !== 'websocket') throw badRequest('Only WebSocket upgrades are accepted.');
    return resolved;
  }

  /** 2. The cross-site WebSocket hijacking defense. */
  function origin(req: IncomingMessage): void {
    if (req.headers.origin !== config.publicUrl.origin) throw forbiddenHandshake('This WebSocket must be opened from the app itself.');
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') throw forbiddenHandshake('This WebSocket must be opened from the app itself.');
  }

  /**
   * 4. The upstream handshake; resolves with the upstream's status when its answer was relayed
   * as HTTP instead, 'nonce' when it was a DPoP `use_dpop_nonce` challenge and `nonceRetry`
   * (nothing relayed).
   */
  function connect(req: IncomingMessage, socket: Duplex, target: ResolvedRoute, protocols: string[], token: UsableToken | undefined, nonceRetry: boolean): Promise<WebSocket | 'nonce' | number> {
    // Origin + path, never a URL resolved against the upstream: the host is the route's, always.
    const url = new URL(`${target.route.upstream.origin}${target.upstreamPath}`);
    if (url.origin !== target.route.upstream.origin) throw badRequest('This path is not allowed.');
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    // The handshake is an HTTP GET to the http(s) URL: that is the proof's htu.
    const origin = target.route.upstream.origin;
    const proofs = token?.tokenType === 'dpop' ? deps.dpop : undefined;
    // Tracing on: the upstream handshake's client span, whose traceparent the upstream gets.
    const span = deps.tracing?.upstream(target.route.prefix, 'GET', target.route.upstream);
    const upstream = new WebSocket(url, protocols, {
      headers: {
        ...(span ? { traceparent: span.traceparent, ...(span.tracestate ? { tracestate: span.tracestate } : {}) } : {}),
        ...(token === undefined ? {} : { authorization: authorizationOf(token, deps.dpop) }),
        ...(proofs ? { dpop: proofs.proof('GET', origin, target.upstreamPath, token!.accessToken) } : {}),
        'x-forwarded-for': clientAddress(req, config.trustedProxyHops),
        'x-forwarded-proto': forwardedProto,
        'x-forwarded-host': config.publicUrl.host,
        'x-request-id': requestIdOf(req.headers),
      },
      handshakeTimeout: target.route.timeoutMs,
      maxPayload: config.maxBodyBytes,
      perMessageDeflate: false,
    });
    return new Promise((resolve, reject) => {
      // The browser gave up while we waited (closed, or half-closed: HTTP sockets allow that):
      // nothing to upgrade.
      const abandoned = () => {
        upstream.terminate();
        socket.destroy();
      };
      socket.once('close', abandoned);
      socket.once('end', abandoned);
      upstream.on('error', () => {}); // reported through the handlers below, or by relay()
      const settled = () => {
        socket.off('close', abandoned);
        socket.off('end', abandoned);
      };
      upstream.once('open', () => {
        settled();
        span?.end(101);
        resolve(upstream);
      });
      if (proofs) upstream.once('upgrade', (response) => proofs.observe(origin, 101, undefined, response.headers['dpop-nonce']));
      upstream.once('unexpected-response', (request, response) => {
        settled();
        span?.end(response.statusCode ?? 502);
        if (proofs?.observe(origin, response.statusCode ?? 0, response.headers['www-authenticate'], response.headers['dpop-nonce']) && nonceRetry) {
          response.resume();
          response.once('end', () => request.destroy());
          resolve('nonce');
          return;
        }
        relayRefusal(req, socket, request, response, target.route.timeoutMs);
        resolve(response.statusCode ?? 502);
      });
      upstream.once('error', (error) => {
        settled();
        span?.end('error');
        const timedOut = /timed out/i.test(error.message);
        reject(timedOut ? new HttpError(504, ERROR_CODES.gatewayTimeout, 'The API did not answer in time.', { cause: error }) : new HttpError(502, ERROR_CODES.badGateway, 'The API could not be reached.', { cause: error }));
      });
    });
  }

  /** 5. Frames both ways until either side closes; registered so the session's end closes it. */
  function relay(browser: WebSocket, upstream: WebSocket, sessionId: string | undefined, timeoutMs: number): void {
    let closedBy: string | undefined;
    const connection = {
      kind: 'websocket' as const,
      close(reason: LiveCloseReason) {
        closedBy ??= reason;
        const code = reason === 'session_ended' ? SESSION_ENDED_CLOSE : GOING_AWAY;
        const text = reason === 'session_ended' ? 'session ended' : 'going away';
        browser.close(code, text);
        upstream.close(reason === 'session_ended' ? 1000 : GOING_AWAY, text);
        // A peer that never answers the close handshake does not hold the socket.
        setTimeout(() => {
          browser.terminate();
          upstream.terminate();
        }, 2_000).unref();
      },
    };
    const forget = live.add(sessionId, connection);
    forward(browser, upstream, timeoutMs);
    forward(upstream, browser, timeoutMs);
    // A browser that vanished without a close (lid shut, NAT dropped) is found by a missed pong.
    let answered = true;
    browser.on('pong', () => (answered = true));
    const pinger = setInterval(() => {
      if (!answered) {
        closedBy ??= 'browser';
        browser.terminate();
        upstream.terminate();
        return;
      }
      answered = false;
      browser.ping();
    }, PING_MS).unref();
    browser.once('close', (code, reason) => {
      closedBy ??= 'browser';
      closeWith(upstream, code, reason);
    });
    upstream.once('close', (code, reason) => {
      closedBy ??= 'upstream';
      closeWith(browser, code, reason);
    });
    let closes = 0;
    const closed = () => {
      if (++closes < 2) return;
      clearInterval(pinger);
      forget();
      metrics.liveConnectionsClosed.inc({ kind: 'websocket', reason: closedBy ?? 'error' });
    };
    browser.once('close', closed);
    upstream.once('close', closed);
    for (const side of [browser, upstream]) {
      side.on('error', (error) => {
        closedBy ??= 'error';
        log.debug({ err: String(error) }, 'websocket relay error');
        browser.terminate();
        upstream.terminate();
      });
    }
  }

  /** Answers a refused handshake over the raw socket, through the one error writer. */
  function refuse(req: IncomingMessage, socket: Duplex, error: unknown): void {
    const failure = toHttpError(error);
    logFailure(log, failure, error, (req.url ?? '/').split('?')[0]!);
    if (!socket.writable) return void socket.destroy();
    const res = answerOn(req, socket);
    writeError(res, failure, { page: false, hsts: config.secureCookies, requestId: requestIdOf(req.headers) });
  }

  return {
    /** The HTTP server's 'upgrade' listener. */
    handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      socket.on('error', () => socket.destroy());
      if (!deps.tracing) {
        upgrade(req, socket, head).catch((error: unknown) => refuse(req, socket, error));
        return;
      }
      // Tracing on: the handshake is a server span, named by its route as HTTP requests are.
      const resolved = resolveApiPath(config.apiRoutes, req.url ?? '/');
      const label = resolved === undefined ? 'other' : resolved === 'invalid' ? 'proxy' : resolved.route.prefix;
      void deps.tracing.handshake(req, label, (end) =>
        upgrade(req, socket, head).then(
          (status) => end(status),
          (error: unknown) => {
            end(toHttpError(error).status);
            refuse(req, socket, error);
          },
        ),
      );
    },
    /** Shutdown: upgrades from now on get 503, and handshakes in progress do not complete. */
    stop(): void {
      stopping = true;
      server.close();
    },
  };
}

/** The subprotocol each upstream picked, by the browser's handshake request. */
const upstreamProtocols = new WeakMap<IncomingMessage, string>();

/** The subprotocol the upstream picked is the one the browser gets. */
function chosenProtocol(offered: Set<string>, req: IncomingMessage): string | false {
  const picked = upstreamProtocols.get(req);
  return picked !== undefined && offered.has(picked) ? picked : false;
}

/**
 * Sends each message on, pausing the sender while the receiver has too much queued. A receiver
 * that reads nothing for `timeoutMs` while the sender waits is cut, as a slow HTTP reader is.
 */
function forward(from: WebSocket, to: WebSocket, timeoutMs: number): void {
  let stalled: NodeJS.Timeout | undefined;
  from.on('message', (data: RawData, isBinary: boolean) => {
    if (to.readyState !== WebSocket.OPEN) return;
    to.send(data, { binary: isBinary }, () => {
      if (from.isPaused && to.bufferedAmount < HIGH_WATER_BYTES / 2) {
        clearTimeout(stalled);
        from.resume();
      }
    });
    if (to.bufferedAmount > HIGH_WATER_BYTES && !from.isPaused) {
      from.pause();
      stalled = setTimeout(() => {
        from.terminate();
        to.terminate();
      }, timeoutMs).unref();
    }
  });
  from.once('close', () => clearTimeout(stalled));
}

/** Passes a close on: codes a peer may send are kept, the others (1005, 1006, 1015) become 1000. */
function closeWith(to: WebSocket, code: number, reason: Buffer): void {
  if (to.readyState === WebSocket.CLOSED || to.readyState === WebSocket.CLOSING) return;
  const sendable = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
  to.close(sendable ? code : 1000, sendable ? reason : undefined);
}

/** A ServerResponse writing to an upgrade request's raw socket, closed after the answer. */
function answerOn(req: IncomingMessage, socket: Duplex): ServerResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Parameters<ServerResponse['assignSocket']>[0]);
  res.once('finish', () => {
    res.detachSocket(socket as Parameters<ServerResponse['detachSocket']>[0]);
    socket.end();
  });
  return res;
}

/**
 * Relays the upstream's non-101 answer to the browser as plain HTTP (status, safe headers, body),
 * within the route's timeout; the upstream request ends with it, or when the browser leaves.
 */
function relayRefusal(req: IncomingMessage, socket: Duplex, request: ClientRequest, response: IncomingMessage, timeoutMs: number): void {
  const end = () => {
    clearTimeout(timer);
    request.destroy();
    socket.destroy();
  };
  const timer = setTimeout(end, timeoutMs).unref();
  socket.once('close', end);
  response.once('end', () => {
    clearTimeout(timer);
    request.destroy();
  });
  try {
    const res = answerOn(req, socket);
    const headers = browserResponseHeaders(response.headers);
    headers['x-request-id'] = requestIdOf(req.headers);
    res.writeHead(response.statusCode ?? 502, headers);
    response.pipe(res);
  } catch {
    end();
  }
}
