import { createServer, type RequestListener, type Server } from 'node:http';

/**
 * The HTTP server the BFF runs on, with the limits that protect it: 16 KB of headers (431 above),
 * and a deadline for a client to finish sending its headers (slow-loris clients are cut off).
 * Bodies are not bounded by time here: the proxy bounds upstream waits with API_TIMEOUT_MS.
 */
export function createBffServer(handler: RequestListener, options: { headersTimeoutMs?: number } = {}): Server {
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
  server.keepAliveTimeout = 65_000; // above common load balancer idle timeouts (60 s)
  return server;
}
