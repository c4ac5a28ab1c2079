import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import type { HttpError } from '../errors.js';
import { bodyStalled, bodyTooLarge } from '../errors.js';

/**
 * The browser's request body on its way upstream, metered: more than `limit` bytes (chunked
 * bodies included, whatever Content-Length claimed) or no data from the browser for `stallMs`
 * (not counting time the upstream spends not reading) fails the stream,
 * which aborts the upstream request: the upstream sees an aborted request, never a shorter
 * complete body, and its pooled connection is freed. `failure` says why, for the answer.
 */
export class MeteredBody extends Transform {
  /** Set when the meter cut the body: the answer the browser gets (413 or 408). */
  failure: HttpError | undefined;
  #bytes = 0;
  readonly #stallTimer: NodeJS.Timeout;

  constructor(
    readonly source: IncomingMessage,
    private readonly limit: number,
    stallMs: number,
  ) {
    super();
    this.#stallTimer = setTimeout(this.#stalled, stallMs);
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
  }

  override _flush(done: TransformCallback): void {
    clearTimeout(this.#stallTimer);
    done();
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    clearTimeout(this.#stallTimer);
    this.source.unpipe(this);
    done(error);
  }

  /** Whatever the exchange did: stop metering, unpipe, free the timer (no error: nobody needs one). */
  release(): void {
    if (!this.destroyed) this.destroy();
  }

  /**
   * No data for `stallMs`. When data is still waiting on our side (the upstream is not reading it:
   * backpressure), the wait is the upstream's, whose own timeouts apply: wait on. Otherwise the
   * browser stopped sending: 408.
   */
  readonly #stalled = () => {
    if (this.readableLength > 0 || this.writableLength > 0) return void this.#stallTimer.refresh();
    this.#cut(bodyStalled());
  };

  #cut(failure: HttpError): void {
    this.failure ??= failure;
    this.destroy(failure);
  }
}

const ignore = () => undefined;
