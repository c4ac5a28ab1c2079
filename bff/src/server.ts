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
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Length: 0\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n`,
  );
}

/** Without a WebSocket handler: upgrades are refused with 400. */
function refuseUpgrade(_req: IncomingMessage, socket: Duplex): void {
  socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n');
}
