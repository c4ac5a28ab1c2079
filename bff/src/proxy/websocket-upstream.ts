import { ServerResponse, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { Deps } from '../deps.js';
import { badRequest } from '../errors.js';
import { closeAfterAnswer } from '../http/server.js';
import { browserResponseHeaders } from './header-policy.js';
import type { ResolvedRoute } from './path.js';
import type { Slot } from './budget.js';
import { Caller, upstreamFailure, upstreamRequests } from './upstream-request.js';
import { insufficientAuthentication, stepUpRequired } from './step-up.js';
import type { AccessToken } from '../tokens.js';

/** Headers of the browser's handshake that describe a body: a handshake has none, so none go upstream. */
const BODY_HEADERS = ['content-length', 'content-type', 'content-encoding', 'content-language'];

/** One upgrade request, from the 'upgrade' event until its socket closes. */
export class Handshake extends Caller {
  /** The live-connection reservation; released when the browser's socket closes, however it ends. */
  slot: Slot | null = null;
  /** Set once anything was written to the browser (an answer, or the 101). */
  answered = false;

  constructor(
    req: IncomingMessage,
    readonly socket: Duplex,
    trustedProxyHops: number,
  ) {
    super(req, trustedProxyHops);
  }
}

/**
 * The upstream leg of WebSocket handshakes, built by the same builder as HTTP calls. Returns the
 * function that opens one.
 */
export function upstreamHandshakes(deps: Pick<Deps, 'config' | 'dpopProofs' | 'metrics' | 'tracing'>) {
  const { config, metrics } = deps;
  const requests = upstreamRequests(deps);
  return connect;

  /**
   * 5. The upstream handshake; resolves with the upstream's status when its answer was relayed
   * as HTTP instead, 'nonce' when it was a DPoP `use_dpop_nonce` challenge and `nonceRetry`
   * (nothing relayed). An RFC 9470 `insufficient_user_authentication` challenge rejects with
   * 401 `step_up_required`, as on HTTP calls.
   */
  function connect(
    handshake: Handshake,
    target: ResolvedRoute,
    protocols: string[],
    token: AccessToken | undefined,
    nonceRetry: boolean,
  ): Promise<WebSocket | 'nonce' | number> {
    const { socket } = handshake;
    const { route: apiRoute } = target;
    // Origin + path, never a URL resolved against the upstream: the host is the route's, always.
    const url = new URL(`${apiRoute.upstream.origin}${target.upstreamPath}`);
    if (url.origin !== apiRoute.upstream.origin) throw badRequest('This path is not allowed.');
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const origin = apiRoute.upstream.origin;
    const proofs = requests.proofsFor(token);
    const started = performance.now();
    const span = deps.tracing?.upstream(apiRoute.prefix, 'GET', apiRoute.upstream);
    // The handshake is an HTTP GET to the http(s) URL: that is the proof's htu.
    const headers = requests.headers(handshake, target, 'GET', token, span);
    for (const name of BODY_HEADERS) delete headers[name];
    const upstream = new WebSocket(url, protocols, {
      headers,
      handshakeTimeout: apiRoute.timeoutMs,
      maxPayload: config.wsMaxMessageBytes,
      perMessageDeflate: false,
    });
    const answered = (status: number | 'error') => {
      metrics.upstream.observe((performance.now() - started) / 1000, apiRoute.prefix, String(status));
      span?.end(status);
    };
    return new Promise((resolve, reject) => {
      // The browser gave up while we waited (closed, or half-closed: HTTP sockets allow that):
      // nothing to upgrade.
      const abandoned = () => {
        upstream.terminate();
        socket.destroy();
      };
      socket.once('close', abandoned);
      socket.once('end', abandoned);
      upstream.on('error', () => {}); // reported through the handlers below, or by the relay
      const settled = () => {
        socket.off('close', abandoned);
        socket.off('end', abandoned);
      };
      upstream.once('open', () => {
        settled();
        answered(101);
        resolve(upstream);
      });
      if (proofs) upstream.once('upgrade', (response) => proofs.observe(origin, 101, undefined, response.headers['dpop-nonce']));
      upstream.once('unexpected-response', (request, response) => {
        settled();
        answered(response.statusCode ?? 502);
        if (
          proofs?.observe(origin, response.statusCode ?? 0, response.headers['www-authenticate'], response.headers['dpop-nonce']) &&
          nonceRetry
        ) {
          response.resume();
          response.once('end', () => request.destroy());
          resolve('nonce');
          return;
        }
        const challenge = response.headers['www-authenticate'];
        const stepUp = response.statusCode === 401 && typeof challenge === 'string' ? insufficientAuthentication(challenge) : undefined;
        if (stepUp) {
          response.resume();
          response.once('end', () => request.destroy());
          reject(stepUpRequired(stepUp, config.publicUrl, handshake.req.headers.referer));
          return;
        }
        relayRefusal(handshake, request, response, apiRoute.timeoutMs);
        resolve(response.statusCode ?? 502);
      });
      upstream.once('error', (error) => {
        settled();
        answered('error');
        reject(upstreamFailure(error));
      });
    });
  }
}

/** A ServerResponse writing to an upgrade request's raw socket; the socket is closed after the answer. */
export function answerOn(req: IncomingMessage, socket: Duplex): ServerResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Parameters<ServerResponse['assignSocket']>[0]);
  res.once('finish', () => {
    res.detachSocket(socket as Parameters<ServerResponse['detachSocket']>[0]);
    closeAfterAnswer(socket);
  });
  return res;
}

/**
 * Relays the upstream's non-101 answer to the browser as plain HTTP (status, safe headers, body),
 * within the route's timeout; the upstream request ends with it, or when the browser leaves.
 */
function relayRefusal(handshake: Handshake, request: ClientRequest, response: IncomingMessage, timeoutMs: number): void {
  const { req, socket } = handshake;
  handshake.answered = true;
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
    headers['x-request-id'] = handshake.requestId;
    res.writeHead(response.statusCode ?? 502, headers);
    response.pipe(res);
  } catch {
    end();
  }
}
