/**
 * What a session costs outside the hot path: the BFF CPU and wall time of a sign-in, and the
 * keys and bytes a signed-in session adds to Redis.
 */
import type { Redis } from 'ioredis';
import { cpuSeconds } from './processes.js';
import type { Stack } from './stack.js';

/** Signs in `count` times one after another at the BFF `bff`: complete sign-ins/s and BFF CPU ms per sign-in. */
export async function signInCost(stack: Stack, bff: { url: string; pid: number }, count: number) {
  const cpuBefore = cpuSeconds(bff.pid);
  const started = performance.now();
  for (let i = 0; i < count; i++) await stack.signIn(bff.url);
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: count / seconds, bffCpuMs: ((cpuSeconds(bff.pid) - cpuBefore) / count) * 1000 };
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
