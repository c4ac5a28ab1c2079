import type { IncomingMessage } from 'node:http';
import { errors as undiciErrors } from 'undici';
import { ERROR_CODES } from '../../../shared/src/index.js';
import { clientAddress } from '../http/client-address.js';
import type { Deps } from '../deps.js';
import { CLIENT_CLOSED, HttpError, gatewayTimeout } from '../errors.js';
import type { UpstreamSpan } from '../tracing/tracing.js';
import { authorizationOf, type DpopProofs } from './dpop.js';
import { requestHeaderPolicy } from './header-policy.js';
import type { ResolvedRoute } from './path.js';
import { requestIdOf } from '../http/request.js';
import type { AccessToken } from '../tokens.js';

/**
 * One browser request on its way upstream, HTTP call or WebSocket handshake: what is read from
 * it once (request id, client address) and used by every step after.
 */
export class Caller {
  readonly started = performance.now();
  /** Read once: the upstream, the answer, the log and the trace all see this one id. */
  readonly requestId: string;
  /** The client's address (TRUST_PROXY applied): budget owner without a session, X-Forwarded-For. */
  readonly clientAddress: string;

  constructor(
    readonly req: IncomingMessage,
    trustedProxyHops: number,
  ) {
    this.requestId = requestIdOf(req.headers);
    this.clientAddress = clientAddress(req, trustedProxyHops);
  }
}

/**
 * The one builder of upstream requests, shared by the HTTP leg and the WebSocket leg (docs/real-time.md:
 * a rule written for one leg must not need a second copy): the browser's allowlisted
 * headers, the token (`Bearer`, or `DPoP` with a fresh proof for a DPoP-bound one), the BFF's own
 * X-Forwarded-* and request id, and the upstream span's trace context.
 */
export function upstreamRequests(deps: Pick<Deps, 'config' | 'dpopProofs'>) {
  const { config, dpopProofs: dpop } = deps;
  const allowlisted = requestHeaderPolicy(config.forwardHeaders);
  const proto = config.publicUrl.protocol.slice(0, -1);
  const host = config.publicUrl.host;

  return {
    /** The proof signer for this token: only a token the provider bound to our key gets proofs. */
    proofsFor(token: AccessToken | undefined): DpopProofs | undefined {
      return token?.tokenType === 'dpop' ? dpop : undefined;
    },

    /** The upstream request headers for `method` on the resolved route. */
    headers(
      caller: Caller,
      target: ResolvedRoute,
      method: string,
      token: AccessToken | undefined,
      span: UpstreamSpan | undefined,
    ): Record<string, string | string[]> {
      const proofs = this.proofsFor(token);
      const headers = allowlisted(caller.req.headers, {
        authorization: token === undefined ? undefined : authorizationOf(token, dpop),
        dpop: proofs?.proof(method, target.route.upstream.origin, target.upstreamPath, token!.accessToken),
        clientAddress: caller.clientAddress,
        proto,
        host,
        requestId: caller.requestId,
      });
      if (span) traceContext(headers, span);
      return headers;
    },
  };
}

/**
 * Runs one upstream exchange, and once more when the upstream answered a DPoP proof with a
 * `use_dpop_nonce` challenge (RFC 9449 §9): the challenge means it did not process the call, and
 * the nonce is now remembered for its origin, so the next proof carries it. The second attempt
 * may not ask again (its challenge reaches the browser).
 */
export async function withNonceRetry<T>(attempt: (nonceRetry: boolean) => Promise<T | 'nonce'>): Promise<T | 'nonce'> {
  const first = await attempt(true);
  return first === 'nonce' ? attempt(false) : first;
}

/** The upstream span's trace context replaces the browser's (which is that span's grandparent). */
function traceContext(headers: Record<string, string | string[]>, span: UpstreamSpan): void {
  headers.traceparent = span.traceparent;
  if (span.tracestate) headers.tracestate = span.tracestate;
  else delete headers.tracestate;
}

/** What the browser hears when the upstream exchange failed, for both legs. */
export function upstreamFailure(error: unknown): HttpError {
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError || isHandshakeTimeout(error)) {
    return gatewayTimeout(undefined, error);
  }
  if (error instanceof undiciErrors.RequestAbortedError) {
    return new HttpError(CLIENT_CLOSED, ERROR_CODES.badRequest, 'The request was aborted.', { cause: error });
  }
  return new HttpError(502, ERROR_CODES.badGateway, 'The API could not be reached.', { cause: error });
}

/** `ws` reports its `handshakeTimeout` as a plain Error ("Opening handshake has timed out"). */
function isHandshakeTimeout(error: unknown): boolean {
  return error instanceof Error && /handshake has timed out/i.test(error.message);
}
