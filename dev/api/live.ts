import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { NotesStore } from './notes-store.js';
import type { RequestAuthenticator } from './request-auth.js';
import type { AccessTokenClaims } from './token-verifier.js';

/** The path of the live notes feed. */
const LIVE_PATH = '/notes/live';
/** Close code when the access token the socket was opened with has expired: reconnect (the BFF refreshes). */
export const TOKEN_EXPIRED_CLOSE = 4001;

/**
 * `GET /notes/live` as a WebSocket: sends `{"type":"notes-changed"}` whenever the user's notes
 * change, so every tab and device of that user reloads its list. The bearer token is checked at
 * the handshake only; the socket is closed when that token expires (a socket outliving its token
 * would be access nobody re-checked), and the client reconnects through the BFF, which sends a
 * fresh token.
 */
export function attachLiveNotes(server: Server, notes: NotesStore, authenticate: RequestAuthenticator): void {
  const sockets = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    void accept(req, socket, head);
  });

  async function accept(req: IncomingMessage, socket: Duplex, head: Buffer) {
    if (new URL(req.url ?? '/', 'http://api').pathname !== LIVE_PATH) return refuse(socket, 404, 'Not Found');
    // The handshake is an HTTP GET: a DPoP proof's htu is its http URL.
    const htu = `http://${req.headers.host ?? ''}${LIVE_PATH}`;
    const outcome = await authenticate({ method: 'GET', htu, authorization: req.headers.authorization, dpop: req.headers.dpop });
    if (!outcome.ok)
      return refuse(
        socket,
        outcome.status,
        outcome.status === 401 ? 'Unauthorized' : 'Service Unavailable',
        outcome.challenge,
        outcome.nonce,
      );
    const claims: AccessTokenClaims = outcome.claims;
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

function refuse(socket: Duplex, status: number, text: string, challenge?: string, nonce?: string): void {
  const extra = `${challenge ? `WWW-Authenticate: ${challenge}\r\n` : ''}${nonce ? `DPoP-Nonce: ${nonce}\r\n` : ''}`;
  socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Length: 0\r\nConnection: close\r\n${extra}\r\n`);
}
