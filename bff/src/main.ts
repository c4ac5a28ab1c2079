import cluster from 'node:cluster';
import { createApp, createDeps } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { isEntryPoint } from './entry-point.js';
import { createLogger } from './logger.js';
import { createBffServer } from './server.js';
import { startTracing } from './tracing/tracing.js';

/**
 * The BFF's entry point: the only file that reads `process.env` and opens sockets.
 * Bad configuration exits 1 with one line per problem; SIGTERM/SIGINT drain in-flight requests.
 */
export async function main(env = process.env): Promise<void> {
  let config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const log = createLogger({ level: config.logLevel, pretty: !config.production && process.stdout.isTTY });
  if (config.workers > 1 && cluster.isPrimary) return supervise(config.workers, log);
  // Loads the OpenTelemetry SDK only when an OTLP endpoint is configured.
  const tracing = await startTracing(config.tracing, log);
  const deps = createDeps(config, log, { tracing });
  const app = createApp(deps);
  void deps.oidc.start();
  await deps.kv.ready();
  const server = createBffServer(app.listener, { upgrade: app.upgrade });
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  log.info({ url: config.publicUrl.href, listen: `${config.host}:${config.port}` }, 'BFF listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: draining in-flight requests');
    const forced = setTimeout(() => {
      log.warn('drain timed out; closing remaining connections');
      server.closeAllConnections();
    }, 10_000).unref();
    server.closeIdleConnections();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await app.drain(9_000);
    await closed;
    clearTimeout(forced);
    await app.shutdown();
    await deps.kv.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/**
 * `BFF_WORKERS` > 1: the primary forks that many workers sharing the listening socket (all state
 * is in Redis, so any worker serves any request), restarts a worker that dies, and on
 * SIGTERM/SIGINT passes the signal on and exits 0 once every worker has drained.
 */
function supervise(count: number, log: ReturnType<typeof createLogger>) {
  let stopping = false;
  for (let i = 0; i < count; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    log.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
    cluster.fork();
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping workers');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (isEntryPoint(import.meta.url)) void main();
