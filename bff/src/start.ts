import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type App } from './app.js';
import type { Config } from './config.js';
import { createDeps, type Deps, type DepsOptions } from './deps.js';
import { listen } from './listen.js';
import type { Logger } from './logger.js';
import { shutDown } from './shutdown.js';
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
 * moment ago is taken before anything else can), and only then waits for the store. Provider
 * discovery runs in the background (an unreachable provider is no reason to stay down: `/readyz`
 * says so); `waitForProvider` waits for it too (tests, which sign in at once).
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
  const { server, metricsServer } = await listen(app, deps, options.server);
  await deps.kv.ready();
  if (options.waitForProvider) await discovery;
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
