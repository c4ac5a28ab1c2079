import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { App } from '../../bff/src/app.js';
import { loadConfig } from '../../bff/src/config.js';
import type { Deps, DepsOptions } from '../../bff/src/deps.js';
import { createLogger } from '../../bff/src/logger.js';
import { startBff as startBffLikeMain } from '../../bff/src/start.js';
import type { SessionUser } from '../../bff/src/session/records.js';
import { deriveStorageIdKey, deriveUserIndexKey, storageIdUnder, redisKeys, userHashUnder } from '../../bff/src/session/redis-keys.js';
import { freePort } from './redis.js';

/** A stand-in SPA so integration tests do not depend on `npm run build`; browser tests use web/dist. */
export const STATIC_FIXTURE = fileURLToPath(new URL('../fixtures/web', import.meta.url));

export const TEST_SESSION_KEY = 'test-session-key-0123456789abcdef-0123456789';

/** A session's handle (by its cookie value) under the test key. */
export const sessionStorageId = (id: string, secret = TEST_SESSION_KEY) => storageIdUnder(deriveStorageIdKey(secret), id);
/** Redis key of a session (by its cookie value) as a BFF with the test key stores it: the BFF's own layout. */
export const sessionKey = (id: string, secret = TEST_SESSION_KEY) => redisKeys.session(sessionStorageId(id, secret));
/** Redis key of a user's session index (by issuer and sub) as a BFF with the test key names it. */
export const userIndexKey = (user: SessionUser & { iss: string }, secret = TEST_SESSION_KEY) =>
  redisKeys.byUser(userHashUnder(deriveUserIndexKey(secret), new URL(user.iss).href, user));
/** Redis key of a session's refresh lock. */
export const lockKey = (id: string, secret = TEST_SESSION_KEY) => redisKeys.lock(storageIdUnder(deriveStorageIdKey(secret), id));
/** Redis key of a start-up claim (e.g. `ssf-stream:<endpoint>`: the Shared Signals stream registration). */
export const startupClaimKey = (name: string) => redisKeys.startupClaim(name);
/** Redis key of the index of sessions per provider session (`sid`). */
export const sidIndexKey = (sid: string) => redisKeys.bySid(sid);

/** Collects log lines in memory so tests can search them for secrets. */
export function logCapture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { lines, destination };
}

export interface RunningBff {
  url: string;
  port: number;
  deps: Deps;
  app: App;
  server: Server;
  /** The metrics listener's origin, when the env sets METRICS_PORT (`0`: a free port). */
  metricsUrl?: string;
  logs: string[];
  close(): Promise<void>;
}

/** Starts the real BFF in this process on `port` (or a free one), configured from `env` like main.ts. */
export async function startBff(
  env: Record<string, string | undefined>,
  port?: number,
  serverOptions?: { headersTimeoutMs?: number },
  depsOptions?: DepsOptions,
): Promise<RunningBff> {
  const listenPort = port ?? (await freePort());
  const config = loadConfig({
    PORT: String(listenPort),
    PUBLIC_URL: `http://127.0.0.1:${listenPort}`,
    SESSION_KEYS: TEST_SESSION_KEY,
    LOG_LEVEL: 'debug',
    NODE_ENV: 'test',
    STATIC_DIR: STATIC_FIXTURE,
    ...env,
  });
  const capture = logCapture();
  const log = createLogger({ level: config.logLevel, destination: capture.destination });
  // Exactly as main.ts starts it (bff/src/start.ts), waiting for discovery too: tests sign in at once.
  const { deps, app, server, metricsServer, stop } = await startBffLikeMain(config, log, {
    deps: depsOptions,
    server: serverOptions,
    waitForProvider: true,
  });
  return {
    url: `http://127.0.0.1:${listenPort}`,
    port: listenPort,
    deps,
    app,
    server,
    metricsUrl: metricsServer && `http://${config.metrics.host}:${(metricsServer.address() as AddressInfo).port}`,
    logs: capture.lines,
    /** Closes every connection at once (a graceful shutdown with no time to drain). */
    close: () => stop(0),
  };
}
