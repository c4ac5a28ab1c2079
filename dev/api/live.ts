import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { NotesStore } from './notes-store.js';
import { InvalidTokenError, type AccessTokenVerifier } from './token-verifier.js';

/** The path of the live notes feed. */
export const LIVE_PATH = '/notes/live';
/** Close code when the access token the socket was opened with has expired: reconnect (the BFF refreshes). */
export const TOKEN_EXPIRED_CLOSE = 4001;

/**
 * `GET /notes/live` as a WebSocket: sends `{"type":"notes-changed"}` whenever the user's notes
 * change, so every tab and device of that user reloads its list. The bearer token is checked at
 * the handshake only; the socket is closed when that token expires (a socket outliving its token
 * would be access nobody re-checked), and the client reconnects through the BFF, which sends a
 * fresh token.
 */
export function attachLiveNotes(server: Server, notes: NotesStore, verifier: AccessTokenVerifier): void {
  const sockets = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    void accept(req, socket, head);
  });

  async function accept(req: IncomingMessage, socket: Duplex, head: Buffer) {
    if (new URL(req.url ?? '/', 'http://api').pathname !== LIVE_PATH) return refuse(socket, 404, 'Not Found');
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(req.headers.authorization ?? '');
    if (!match) return refuse(socket, 401, 'Unauthorized', 'Bearer realm="demo-api"');
    let claims: Awaited<ReturnType<AccessTokenVerifier['verify']>>;
    try {
      claims = await verifier.verify(match[1]!);
    } catch (error) {
      if (error instanceof InvalidTokenError) return refuse(socket, 401, 'Unauthorized', 'Bearer realm="demo-api", error="invalid_token"');
      return refuse(socket, 503, 'Service Unavailable');
    }
    sockets.handleUpgrade(req, socket, head, (ws) => {
      const stop = notes.watch(claims.sub, () => ws.send(JSON.stringify({ type: 'notes-changed' })));
      const expiry = setTimeout(() => ws.close(TOKEN_EXPIRED_CLOSE, 'token expired'), Math.max(0, claims.expiresAt * 1000 - Date.now()));
      ws.on('close', () => {
        stop();
        clearTimeout(expiry);
      });
      ws.on('error', () => ws.terminate());
    });
  }
}

function refuse(socket: Duplex, status: number, text: string, challenge?: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Length: 0\r\nConnection: close\r\n${challenge ? `WWW-Authenticate: ${challenge}\r\n` : ''}\r\n`);
}
