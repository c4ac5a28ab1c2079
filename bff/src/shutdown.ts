import type { Server } from 'node:http';
import type { App } from './app.js';
import type { Logger } from './logger.js';

/** What a live connection gets to finish its close handshake (1001) before the deadline cuts it. */
const CLOSE_HANDSHAKE_MS = 2_000;

/**
 * Graceful shutdown with a deadline no client can stretch (docs/budgets.md): the server stops
 * accepting, requests in flight get until `timeoutMs - 2 s` to finish, live connections are then
 * closed with "going away", and at `timeoutMs` every socket still open is destroyed: keep-alive
 * and half-open ones (closeAllConnections) and upgraded or refused-upgrade ones, which Node's
 * server no longer tracks but which would keep `server.close()` waiting for ever.
 * Resolves once the server is closed; the store is closed by the caller.
 */
export async function shutDown(server: Server, app: App, log: Logger, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await app.drain(Math.max(0, timeoutMs - CLOSE_HANDSHAKE_MS));
  const waited = await Promise.race([closed.then(() => true), sleep(deadline - performance.now()).then(() => false)]);
  if (!waited) log.warn('shutdown deadline reached: closing the remaining connections');
  server.closeAllConnections();
  app.destroyUpgradedSockets();
  await closed;
  await app.shutdown();
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());
