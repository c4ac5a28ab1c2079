import { WEBSOCKET_CLOSE } from '../../../shared/src/index.js';
import { checkSessionAfterLiveEnd } from '../api/bff-client.js';
import { LIVE_NOTES_PATH } from './notes-api.js';

/** The BFF's close code for "your session ended" (docs/real-time.md). */
const SESSION_ENDED_CLOSE = WEBSOCKET_CLOSE.sessionEnded;
/** The demo API's close code for "the token this socket was opened with expired": reconnect now. */
const TOKEN_EXPIRED_CLOSE = 4001;
const MAX_BACKOFF_MS = 30_000;

/** The next wait before reconnecting: 1 s, 2 s, 4 s … up to 30 s, with jitter so tabs do not reconnect in step. */
export function backoffMs(attempt: number, random = Math.random): number {
  const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempt);
  return Math.round(base / 2 + (random() * base) / 2);
}

/**
 * Live updates of the user's notes: a WebSocket through the BFF (`/api/notes/live`, a
 * `websocket=true` route; the notes panel opens it only when `/bff/config` says so) that says when the notes changed in any tab or on any device. It
 * reconnects with backoff when the connection drops; when the BFF closes it because the session
 * ended (4401), it asks the BFF why (a 401 with its reason), and the app shows the signed-out view.
 */
export class LiveNotes {
  #socket: WebSocket | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  #stopped = true;

  constructor(
    private readonly onChange: () => void,
    private readonly url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${LIVE_NOTES_PATH}`,
  ) {}

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#socket?.close(1000, 'done');
    this.#socket = undefined;
  }

  #connect(): void {
    // The browser sends the HttpOnly session cookie with the handshake; the BFF adds the token.
    const socket = new WebSocket(this.url);
    this.#socket = socket;
    socket.addEventListener('open', () => {
      this.#attempt = 0;
      this.onChange(); // changes may have happened while we were not connected
    });
    socket.addEventListener('message', (event) => {
      if (typeof event.data === 'string' && event.data.includes('"notes-changed"')) this.onChange();
    });
    socket.addEventListener('close', (event) => {
      if (this.#socket !== socket || this.#stopped) return;
      this.#socket = undefined;
      if (event.code === SESSION_ENDED_CLOSE) {
        this.#stopped = true;
        checkSessionAfterLiveEnd();
        return;
      }
      const wait = event.code === TOKEN_EXPIRED_CLOSE ? 0 : backoffMs(this.#attempt++);
      this.#timer = setTimeout(() => this.#connect(), wait);
    });
  }
}
