import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { renewable, type TokenTiming } from '../oidc/refusal-cooldown.js';
import type { DpopProofs } from './dpop.js';
import { browserResponseHeaders } from './header-policy.js';
import { insufficientAuthentication, type StepUp } from './step-up.js';

const INVALID_TOKEN = /error="?invalid_token"?/;
const EVENT_STREAM = /^\s*text\/event-stream/i;

/**
 * How one upstream exchange ended: relayed to the browser, refused the token (replay allowed),
 * challenged the DPoP proof for a nonce (`use_dpop_nonce`; the nonce is remembered, replay
 * allowed), or asked for a stronger sign-in (RFC 9470: `stepUp` says what; nothing relayed).
 */
export type RelayOutcome = 'sent' | 'retry' | 'nonce' | 'step_up';

/**
 * Relays one upstream response into the browser's response, as an undici dispatch handler:
 * no intermediate stream, backpressure passed through (a slow browser pauses the upstream),
 * and the upstream request aborted when the browser goes away. When the upstream answers 401
 * `invalid_token` to a call whose token may be retried (`retryable`) and that token is older than
 * the refusal cool-down, nothing reaches the browser and the outcome is 'retry'; a younger token's
 * refusal is relayed as it is (a new grant would be refused the same way). A 401
 * `insufficient_user_authentication` is held back too (outcome 'step_up'): the proxy answers it.
 */
export class ResponseRelay implements Dispatcher.DispatchHandler {
  /** True once the status line went to the browser: from then on a failure can only cut the connection. */
  started = false;
  /**
   * Set by the proxy for calls that asked for an event stream: called when the answer is one,
   * with the stream to close when its session ends; returns the function to call when it is over.
   */
  onEventStream: ((stream: { end(): void }) => () => void) | undefined;
  /**
   * Set by the proxy when the call carried a DPoP proof: every answer's `DPoP-Nonce` is
   * remembered for the origin, and a `use_dpop_nonce` challenge is held back when `nonceRetry`.
   */
  dpop: { proofs: DpopProofs; origin: string; nonceRetry: boolean } | undefined;
  /** With the outcome 'step_up': what the upstream's `insufficient_user_authentication` challenge asked for. */
  stepUp: StepUp | undefined;
  #forgetStream: (() => void) | undefined;
  #outcome: RelayOutcome = 'sent';
  #controller: Dispatcher.DispatchController | undefined;
  readonly #done: Promise<RelayOutcome>;
  #resolve!: (outcome: RelayOutcome) => void;
  #reject!: (error: Error) => void;

  constructor(
    private readonly res: ServerResponse,
    /** Echoed to the browser, as on every answer. */
    private readonly requestId: string,
    /** The token the call carried, when a refusal of it may lead to a renewal and a replay. */
    private readonly retryable: TokenTiming | undefined,
    /** How long a browser that stopped reading may hold the upstream connection. */
    private readonly drainTimeoutMs: number,
    /** Called with the upstream status once its headers arrive (metrics). */
    private readonly onStatus: (statusCode: number) => void,
  ) {
    this.#done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Settles when the response has been relayed (or refused for a retry); rejects on upstream failure. */
  get done(): Promise<RelayOutcome> {
    return this.#done;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.res.destroyed) controller.abort(new Error('the browser closed the connection'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx informational: the final answer follows
    this.onStatus(statusCode);
    const challenge = headers['www-authenticate'];
    if (this.dpop && this.dpop.proofs.observe(this.dpop.origin, statusCode, challenge, headers['dpop-nonce']) && this.dpop.nonceRetry) {
      this.#outcome = 'nonce';
      return;
    }
    if (statusCode === 401 && typeof challenge === 'string') {
      if (this.retryable && INVALID_TOKEN.test(challenge) && renewable(this.retryable)) {
        this.#outcome = 'retry';
        return;
      }
      // Not the token but the sign-in behind it: no refresh would help, the user must step up.
      this.stepUp = insufficientAuthentication(challenge);
      if (this.stepUp) {
        this.#outcome = 'step_up';
        return;
      }
    }
    if (this.res.destroyed) return controller.abort(new Error('the browser closed the connection'));
    this.started = true;
    const forBrowser = browserResponseHeaders(headers);
    forBrowser['x-request-id'] = this.requestId;
    this.res.writeHead(statusCode, forBrowser);
    if (this.onEventStream) {
      if (EVENT_STREAM.test(String(headers['content-type'] ?? ''))) {
        // Events go out as they arrive: no corking, and the stream ends with its session.
        this.res.flushHeaders();
        this.#forgetStream = this.onEventStream({ end: this.#endStream });
        return;
      }
      // Asked for a stream, got something else: it gets the body timeout undici was told to skip.
      this.#idleTimer = setTimeout(this.#giveUp, this.drainTimeoutMs);
    }
    // Small answers usually arrive with their headers in one read: corking until the next tick
    // sends head, body and end in one write instead of three.
    this.res.cork();
    process.nextTick(uncork, this.res);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#idleTimer?.refresh();
    if (this.#outcome !== 'sent') return;
    if (this.res.destroyed) return controller.abort(new Error('the browser closed the connection'));
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', this.#resume);
      // A browser that stops reading must not hold a pooled upstream connection for ever.
      this.#drainTimer = setTimeout(this.#giveUp, this.drainTimeoutMs);
    }
  }

  onResponseEnd(): void {
    clearTimeout(this.#idleTimer);
    if (this.#outcome === 'sent') this.res.end();
    this.#forgetStream?.();
    this.#resolve(this.#outcome);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    clearTimeout(this.#drainTimer);
    clearTimeout(this.#idleTimer);
    this.#forgetStream?.();
    this.#reject(error);
  }

  /** Ends an event stream from our side (its session ended, or shutdown): the browser sees a clean end. */
  readonly #endStream = () => {
    if (!this.res.writableEnded) this.res.end();
    this.#controller?.abort(new Error('the stream was ended by the BFF'));
  };

  /** Stops waiting for the upstream (the browser went away mid-request). */
  abort(reason: Error): void {
    this.#controller?.abort(reason);
  }

  #drainTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #resume = () => {
    clearTimeout(this.#drainTimer);
    this.#controller?.resume();
  };
  readonly #giveUp = () => {
    this.#controller?.abort(new Error('the browser stopped reading'));
    this.res.destroy();
  };
}

const uncork = (res: ServerResponse) => res.uncork();
