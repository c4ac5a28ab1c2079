import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type App } from './app.js';
import type { Config } from './config.js';
import { createDeps, type Deps, type DepsOptions } from './deps.js';
import { listen } from './listen.js';
import type { Logger } from './logger.js';
import { shutDown } from './shutdown.js';
import { registerStream } from './ssf/stream.js';
import { startTracing } from './tracing/tracing.js';

/** A BFF listening on its ports. */
export interface StartedBff {
  deps: Deps;
  app: App;
  server: Server;
  /** The metrics listener, with METRICS_PORT. */
  metricsServer?: Server;
  /** The port the public server listens on (PORT, or the one the system chose for port 0). */
  port: number;
  /** Graceful shutdown within `timeoutMs` (SHUTDOWN_TIMEOUT_MS by default), then the store is closed. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Starts the BFF, the one way `main.ts` and the tests both do it: tracing (when configured), the
 * services (`createDeps`), the app (`createApp`), then the sockets at once (a port reserved a
 * moment ago is taken before anything else, such as the store's own connection, can take it).
 * Requests that arrive before the store answered wait for it (at most its 5 s `ready()`), rather
 * than being refused: with `BFF_WORKERS` a worker shares the port with ready ones, and a load
 * balancer cannot tell them apart. Provider discovery runs in the background (an unreachable
 * provider is no reason to stay down: `/readyz` says so); `waitForProvider` waits for it too
 * (tests, which sign in at once).
 */
export async function startBff(
  config: Config,
  log: Logger,
  options: { deps?: DepsOptions; server?: { headersTimeoutMs?: number }; waitForProvider?: boolean } = {},
): Promise<StartedBff> {
  const tracing = await startTracing(config.tracing, log);
  const deps = createDeps(config, log, { tracing, ...options.deps });
  const app = createApp(deps);
  const discovery = deps.oidc.start();
  const storeReady = deps.kv.ready();
  const { server, metricsServer } = await listen(untilReady(app, storeReady), deps, options.server);
  await storeReady;
  if (options.waitForProvider) await discovery;
  // After discovery (the client-credentials token comes from the provider); in the background.
  const stream =
    config.ssf?.stream === 'auto'
      ? discovery.then(
          () => registerStream(deps),
          () => undefined,
        )
      : undefined;
  if (options.waitForProvider) await stream;
  return {
    deps,
    app,
    server,
    metricsServer,
    port: (server.address() as AddressInfo).port,
    async stop(timeoutMs = config.shutdownTimeoutMs) {
      metricsServer?.closeAllConnections();
      metricsServer?.close();
      await shutDown(server, app, log, timeoutMs);
      await deps.kv.close();
    },
  };
}

/**
 * The app's listeners, holding what arrives before `ready` settles until it does (settled either
 * way: a store still down then answers 503 itself). One boolean test per call afterwards.
 */
function untilReady(app: App, ready: Promise<void>): Pick<App, 'listener' | 'upgrade'> {
  let settled = false;
  const after = ready
    .catch(() => undefined)
    .then(() => {
      settled = true;
    });
  return {
    listener: (req, res) => (settled ? app.listener(req, res) : void after.then(() => app.listener(req, res))),
    upgrade: (req, socket, head) => (settled ? app.upgrade(req, socket, head) : void after.then(() => app.upgrade(req, socket, head))),
  };
}
