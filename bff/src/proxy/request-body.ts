import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { type HttpError, bodyStalled, bodyTooLarge, gatewayTimeout } from '../errors.js';

/**
 * Bodies up to this size are read whole before an upstream connection is taken (nginx's
 * request buffering): a browser trickling a small upload holds memory of ours, never a pooled
 * connection that other callers need. Larger bodies stream once this much has arrived.
 */
export const BUFFERED_BODY_BYTES = 64 * 1024;

/** How far the browser's body got before the upstream call may start. */
export type BodyReady = { whole: Buffer } | { stream: MeteredBody };

/**
 * The browser's request body on its way upstream, metered: more than `limit` bytes (chunked
 * bodies included, whatever Content-Length claimed), no data from the browser for `stallMs`, or
 * the whole body not in by `deadlineMs` after the request's headers fail the stream, which aborts
 * the upstream request: the upstream sees an aborted request, never a shorter complete body, and
 * its pooled connection is freed. `failure` says why, for the answer.
 *
 * Time the upstream spends not reading (backpressure while streaming) is not the browser's
 * fault: a stall then waits on (the upstream's own timeouts apply), and a deadline reached
 * then is the upstream's (504), not the browser's (408).
 */
export class MeteredBody extends Transform {
  /** Set when the meter cut the body: the answer the browser gets (413, 408 or 504). */
  failure: HttpError | undefined;
  #bytes = 0;
  /** True once the body is handed to the upstream call as a stream. */
  #streaming = false;
  readonly #stallTimer: NodeJS.Timeout;
  readonly #deadline: NodeJS.Timeout;
  #settle: ((ready: BodyReady) => void) | undefined;
  #fail: ((error: Error) => void) | undefined;
  /** Settles once the body is whole (up to BUFFERED_BODY_BYTES) or big enough to stream; rejects when it is cut first. */
  readonly ready: Promise<BodyReady>;

  constructor(
    readonly source: IncomingMessage,
    private readonly limit: number,
    stallMs: number,
    deadlineMs: number,
  ) {
    super({ readableHighWaterMark: BUFFERED_BODY_BYTES });
    this.ready = new Promise((resolve, reject) => {
      this.#settle = resolve;
      this.#fail = reject;
    });
    this.ready.catch(ignore); // read by the proxy; an exchange that failed first never asks
    this.#stallTimer = setTimeout(this.#stalled, stallMs);
    this.#deadline = setTimeout(this.#late, deadlineMs);
    // undici listens while it sends the body, and stops listening when the exchange fails before
    // the body was read (upstream down): a later cut must not become an uncaught 'error'.
    this.on('error', ignore);
    source.on('error', (error) => this.destroy(error));
    source.on('aborted', () => this.destroy(new Error('the browser aborted the upload')));
    source.pipe(this);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#bytes += chunk.length;
    if (this.#bytes > this.limit) return this.#cut(bodyTooLarge());
    this.#stallTimer.refresh();
    done(null, chunk);
    if (!this.#streaming && this.readableLength >= BUFFERED_BODY_BYTES) {
      this.#streaming = true;
      this.#settle?.({ stream: this });
    }
  }

  override _flush(done: TransformCallback): void {
    this.#stopTimers();
    done();
    // The whole body arrived while still buffering: the upstream call gets it in one piece.
    if (!this.#streaming) this.#settle?.({ whole: (this.read() as Buffer | null) ?? Buffer.alloc(0) });
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    this.#stopTimers();
    this.source.unpipe(this);
    this.#fail?.(error ?? new Error('the upload was released'));
    done(error);
  }

  /** Whatever the exchange did: stop metering, unpipe, free the timers (no error: nobody needs one). */
  release(): void {
    if (!this.destroyed) this.destroy();
  }

  #stopTimers(): void {
    clearTimeout(this.#stallTimer);
    clearTimeout(this.#deadline);
  }

  /** Data handed to the upstream call is waiting there: the upstream, not the browser, is slow. */
  #upstreamBehind(): boolean {
    return this.#streaming && (this.readableLength > 0 || this.writableLength > 0);
  }

  /** No data from the browser for `stallMs`: 408, unless the upstream is the one not reading. */
  readonly #stalled = () => {
    if (this.#upstreamBehind()) return void this.#stallTimer.refresh();
    this.#cut(bodyStalled());
  };

  /** The body's own deadline, which no byte resets: a trickle ends here. */
  readonly #late = () => {
    this.#cut(this.#upstreamBehind() ? uploadNotRead() : bodyStalled());
  };

  #cut(failure: HttpError): void {
    this.failure ??= failure;
    this.destroy(failure);
  }
}

const uploadNotRead = () => gatewayTimeout('The API did not take the upload in time.');
const ignore = () => undefined;
