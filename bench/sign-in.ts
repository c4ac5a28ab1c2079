/**
 * What a session costs outside the hot path: the BFF CPU, wall time and Redis commands of a
 * sign-in (login, the provider's pages, callback), beside the same for two stacks a team would
 * otherwise assemble (bench/comparison/), and the keys and bytes a signed-in session adds to Redis.
 */
import type { Redis } from 'ioredis';
import { COMPARISON_STACKS, type ComparisonName, type SignInPaths } from './comparison/stacks.js';
import { cpuSeconds } from './processes.js';
import { KIT_SIGN_IN, type Stack } from './stack.js';
import type { TestBrowser } from '../test/support/browser.js';

/** One sign-in row. */
export interface SignInFigures {
  /** Whose sign-in: the kit's BFF or a comparison stack (those never use PAR). */
  stack: 'kit' | ComparisonName;
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
 * Signs in `count` times at the BFF `bff` (or a comparison stack at `paths`), `parallel` at a
 * time: complete sign-ins/s, BFF CPU ms and Redis commands per sign-in. Every browser is then
 * checked to be signed in, after the figures are read (the check is not part of a sign-in).
 */
export async function signInCost(
  stack: Stack,
  redis: Redis,
  bff: { url: string; pid: number },
  count: number,
  parallel = 1,
  paths: SignInPaths = KIT_SIGN_IN,
) {
  const cpuBefore = cpuSeconds(bff.pid);
  const commandsBefore = await commandsRun(redis);
  const started = performance.now();
  const browsers: TestBrowser[] = [];
  let next = 0;
  const lane = async () => {
    while (next++ < count) browsers.push(await stack.signIn(bff.url, paths));
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  const seconds = (performance.now() - started) / 1000;
  const figures = {
    perSecond: count / seconds,
    bffCpuMs: ((cpuSeconds(bff.pid) - cpuBefore) / count) * 1000,
    redisCommands: ((await commandsRun(redis)) - commandsBefore) / count,
  };
  for (const browser of browsers) await stack.expectSignedIn(browser, bff.url, paths);
  return figures;
}

/**
 * Sign-ins with PAR off and on, one at a time and `parallel` at once, each on a BFF of its own;
 * then the same (PAR off) at each comparison stack, each in a process of its own.
 */
export async function signInRows(stack: Stack, redis: Redis, count: number, parallel: number): Promise<SignInFigures[]> {
  const rows: SignInFigures[] = [];
  const measure = async (
    name: SignInFigures['stack'],
    par: boolean,
    server: { url: string; pid: number; stop(): Promise<void> },
    paths: SignInPaths,
  ) => {
    try {
      // Warm up as many: Node 24 is still compiling (V8's background tiers) after a few dozen
      // sign-ins, and that CPU is start-up, not the price of a sign-in. Pooled connections, discovery.
      await signInCost(stack, redis, server, count, 1, paths);
      for (const lanes of [1, parallel])
        rows.push({ stack: name, par, parallel: lanes, ...(await signInCost(stack, redis, server, count, lanes, paths)) });
    } finally {
      await server.stop();
    }
  };
  // The kit's sign-in rate limit on, as in production (the main rows' BFFs sign in too often for
  // it); one process, as each comparison stack is (a cluster primary would add its own CPU: it
  // accepts every connection and hands it to a worker).
  const kit = (par: boolean) => stack.startBff({ OIDC_PAR: String(par), LOGIN_RATE_LIMIT: '1000000', BFF_WORKERS: '1' });
  for (const par of [false, true]) await measure('kit', par, await kit(par), KIT_SIGN_IN);
  for (const name of Object.keys(COMPARISON_STACKS) as ComparisonName[])
    await measure(name, false, await stack.startComparison(name), COMPARISON_STACKS[name].paths);
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
