import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { App } from './app.js';
import type { Deps } from './deps.js';
import { notFound, toHttpError } from './errors.js';
import type { Metrics } from './metrics.js';
import { createBffServer } from './http/server.js';
import { writeError } from './http/error-response.js';

/** What {@link listen} needs of the app: its request and upgrade listeners. */
type Listeners = Pick<App, 'listener' | 'upgrade'>;

/** The BFF's open sockets. */
export interface Listening {
  /** The public server on HOST:PORT. */
  server: Server;
  /** The metrics listener on METRICS_HOST:METRICS_PORT; undefined without METRICS_PORT (then `/metrics` is on the public port). */
  metricsServer?: Server;
}

/**
 * Opens the BFF's sockets, as main.ts does and the tests do: the public server on HOST:PORT and,
 * with METRICS_PORT, a second listener that serves `/metrics` and nothing else (createApp then
 * leaves `/metrics` off the public port). Without METRICS_PORT in production it warns that
 * `/metrics` is public. Rejects when a port cannot be listened on, leaving nothing open.
 */
export async function listen(
  app: Listeners,
  { config, log, metrics }: Pick<Deps, 'config' | 'log' | 'metrics'>,
  serverOptions: { headersTimeoutMs?: number } = {},
): Promise<Listening> {
  const server = createBffServer(app.listener, { ...serverOptions, upgrade: app.upgrade });
  await listenOn(server, config.port, config.host);
  if (config.metrics.port === undefined) {
    if (config.production)
      log.warn(
        'METRICS_PORT is not set: /metrics is served on the public port to anyone who can reach it; set METRICS_PORT (and METRICS_HOST) to serve it only there',
      );
    return { server };
  }
  // The same limits as the public server (header size and deadline, malformed requests, upgrades refused).
  const metricsServer = createBffServer(metricsOnly(metrics));
  try {
    await listenOn(metricsServer, config.metrics.port, config.metrics.host);
  } catch (error) {
    server.close();
    throw error;
  }
  // Scrapes never keep a stopping process alive: shutdown drains the public server only.
  metricsServer.unref();
  return { server, metricsServer };
}

function listenOn(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject); // a port taken fails the start instead of hanging it
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The metrics listener's handler: `GET /metrics` (any query), 404 for everything else. */
function metricsOnly(metrics: Metrics) {
  return function metricsOnly(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      writeError(res, notFound(), { page: false, hsts: false, requestId: randomUUID() });
      return;
    }
    metrics.registry.metrics().then(
      (text) =>
        res
          .writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' })
          .end(req.method === 'HEAD' ? undefined : text),
      (error: unknown) => writeError(res, toHttpError(error), { page: false, hsts: false, requestId: randomUUID() }),
    );
  };
}
