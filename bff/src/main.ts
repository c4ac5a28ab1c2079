import cluster from 'node:cluster';
import { ConfigError, loadConfig } from './config.js';
import { isEntryPoint } from './entry-point.js';
import { createLogger } from './logger.js';
import { startBff } from './start.js';

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
  const bff = await startBff(config, log);
  const metrics = bff.metricsServer ? `${config.metrics.host}:${config.metrics.port}` : 'on the public port';
  log.info({ url: config.publicUrl.href, listen: `${config.host}:${config.port}`, metrics }, 'BFF listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: draining in-flight requests');
    // The last resort: whatever hangs (a store that never answers), the process is gone by then.
    setTimeout(() => {
      log.error('shutdown did not finish in time; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 1_500).unref();
    await bff.stop();
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
