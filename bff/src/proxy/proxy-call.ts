import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Slot } from './budget.js';
import type { MeteredBody } from './request-body.js';
import type { ResponseRelay } from './relay.js';
import type { ResolvedRoute } from './path.js';
import { Caller } from './upstream-request.js';

/** Calls that ask for an event stream (as EventSource and the SPA's stream reader do). */
const WANTS_EVENT_STREAM = /text\/event-stream/i;

/** One proxied request's state. */
export class ProxyCall extends Caller {
  /** Whether the browser sends a body (declared length above 0, or chunked). */
  readonly hasBody: boolean;
  /** Whether the browser asked for an event stream (`Accept: text/event-stream`): decided once per call. */
  readonly wantsEventStream: boolean;
  sessionId: string | undefined;
  /** The call's reservation (calls budget, or live connections for an event stream). */
  slot: Slot | null = null;
  /** The metered request body. */
  body: MeteredBody | null = null;
  /** The upstream exchange in progress (a second one after a token refresh). */
  relay: ResponseRelay | undefined;

  constructor(
    req: IncomingMessage,
    readonly res: ServerResponse,
    readonly target: ResolvedRoute | 'invalid',
    trustedProxyHops: number,
  ) {
    super(req, trustedProxyHops);
    const length = req.headers['content-length'];
    this.hasBody = length !== undefined ? length !== '0' : req.headers['transfer-encoding'] !== undefined;
    this.wantsEventStream = WANTS_EVENT_STREAM.test(req.headers.accept ?? '');
  }
}
