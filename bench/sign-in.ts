/**
 * What a session costs outside the hot path: the BFF CPU, wall time and Redis commands of a
 * sign-in (login, the provider's pages, callback), and the keys and bytes a signed-in session
 * adds to Redis.
 */
import type { Redis } from 'ioredis';
import { cpuSeconds } from './processes.js';
import type { Stack } from './stack.js';

/** One sign-in row. */
export interface SignInFigures {
  par: boolean;
  parallel: number;
  perSecond: number;
  bffCpuMs: number;
  /** Redis commands per sign-in, the instances' heartbeats (PUBLISH) left out. */
  redisCommands: number;
}

/** Commands Redis has run, INFO and PUBLISH (the heartbeats of every running BFF) left out. */
async function commandsRun(redis: Redis): Promise<number> {
  let total = 0;
  for (const [, name, calls] of (await redis.info('commandstats')).matchAll(/cmdstat_(\w+):calls=(\d+)/g))
    if (name !== 'info' && name !== 'publish') total += Number(calls);
  return total;
}

/**
 * Signs in `count` times at the BFF `bff`, `parallel` at a time: complete sign-ins/s, BFF CPU
 * ms and Redis commands per sign-in.
 */
export async function signInCost(stack: Stack, redis: Redis, bff: { url: string; pid: number }, count: number, parallel = 1) {
  const cpuBefore = cpuSeconds(bff.pid);
  const commandsBefore = await commandsRun(redis);
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next++ < count) await stack.signIn(bff.url);
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  const seconds = (performance.now() - started) / 1000;
  return {
    perSecond: count / seconds,
    bffCpuMs: ((cpuSeconds(bff.pid) - cpuBefore) / count) * 1000,
    redisCommands: ((await commandsRun(redis)) - commandsBefore) / count,
  };
}

/** Sign-ins with PAR off and on, one at a time and `parallel` at once, each on a BFF of its own. */
export async function signInRows(stack: Stack, redis: Redis, count: number, parallel: number): Promise<SignInFigures[]> {
  const rows: SignInFigures[] = [];
  for (const par of [false, true]) {
    // The sign-in rate limit on, as in production (the main rows' BFFs sign in too often for it).
    const bff = await stack.startBff({ OIDC_PAR: String(par), LOGIN_RATE_LIMIT: '1000000' });
    try {
      await signInCost(stack, redis, bff, Math.min(count, 5)); // warm up: compiled paths, pooled connections
      for (const lanes of [1, parallel]) rows.push({ par, parallel: lanes, ...(await signInCost(stack, redis, bff, count, lanes)) });
    } finally {
      await bff.stop();
    }
  }
  return rows;
}

/** Empties Redis, signs in `count` times and measures the keys and bytes per session. */
export async function redisFootprint(stack: Stack, redis: Redis, bffUrl: string, count: number) {
  await redis.flushall();
  for (let i = 0; i < count; i++) await stack.signIn(bffUrl);
  const keys = (await redis.keys('bff:*')).filter((key) => !key.startsWith('bff:login:') && !key.includes('login-rate'));
  let bytes = 0;
  for (const key of keys) bytes += Number(await redis.memory('USAGE', key));
  const sessionKeys = keys.filter((key) => key.endsWith(':session'));
  let valueBytes = 0;
  for (const key of sessionKeys) valueBytes += await redis.strlen(key);
  return { keysPerSession: keys.length / count, bytesPerSession: bytes / count, sessionValueBytes: valueBytes / sessionKeys.length };
}
