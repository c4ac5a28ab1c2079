import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * The HTTP server the BFF runs on, with the limits that protect it: 16 KB of headers (431 above),
 * and a deadline for a client to finish sending its headers (slow-loris clients are cut off).
 * Bodies are bounded by the proxy (MAX_BODY_BYTES, and API_TIMEOUT_MS between chunks).
 * `Expect: 100-continue` requests reach the handler before the body is sent, so the proxy can
 * refuse them (401, 413...) without reading it.
 */
export function createBffServer(
  handler: RequestListener,
  options: { headersTimeoutMs?: number; upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void } = {},
): Server {
  const headersTimeout = options.headersTimeoutMs ?? 20_000;
  const server = createServer(
    {
      maxHeaderSize: 16 * 1024,
      headersTimeout,
      requestTimeout: 0,
      // How often Node checks those deadlines; its default (30 s) would let a slow client linger.
      connectionsCheckingInterval: Math.min(5_000, Math.max(100, Math.floor(headersTimeout / 4))),
    },
    handler,
  );
  server.on('checkContinue', handler);
  // Every upgrade request gets an answer (a WebSocket, or a 4xx); none is left hanging.
  server.on('upgrade', options.upgrade ?? refuseUpgrade);
  server.on('clientError', answerMalformedRequest);
  server.keepAliveTimeout = 65_000; // above common load balancer idle timeouts (60 s)
  return server;
}

const MALFORMED_STATUS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

/**
 * Requests Node's parser refuses (bad syntax, headers too large, too slow) are answered here,
 * with the same nosniff and no-referrer headers as everything else the BFF writes.
 */
function answerMalformedRequest(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = MALFORMED_STATUS[error.code ?? ''] ?? '400 Bad Request';
  socket.write(
    `HTTP/1.1 ${status}\r\nContent-Length: 0\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n`,
  );
  closeAfterAnswer(socket);
}

/** Without a WebSocket handler: upgrades are refused with 400. */
function refuseUpgrade(_req: IncomingMessage, socket: Duplex): void {
  socket.write('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n');
  closeAfterAnswer(socket);
}

/** How long a socket whose answer was written may take to close by itself before it is destroyed. */
const CLOSE_AFTER_ANSWER_MS = 500;

/**
 * Closes a socket Node handed over (an upgrade request) once its answer is written. `end()`
 * alone never frees it: the socket is paused, so bytes the client sends after its request are
 * never read, its end never seen, and a client that never closes keeps the file descriptor for
 * ever. So: FIN after the answer, read and discard whatever still comes (so the close is not a
 * reset that could cost the client our answer), and destroy it when the client closes too or
 * after CLOSE_AFTER_ANSWER_MS, whichever comes first.
 */
export function closeAfterAnswer(socket: Duplex): void {
  const destroy = () => {
    clearTimeout(timer);
    socket.destroy();
  };
  const timer = setTimeout(destroy, CLOSE_AFTER_ANSWER_MS).unref();
  socket.once('end', destroy);
  socket.once('close', destroy);
  socket.end();
  socket.resume();
}
