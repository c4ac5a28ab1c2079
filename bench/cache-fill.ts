/**
 * Fills every BFF process's session cache for the memory figure: copies of the bench session's
 * Redis record under new ids, each requested until every cluster worker has cached it.
 */
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import type { Redis } from 'ioredis';
import { sessionKey } from '../test/support/bff.js';
import { getOnNewConnection } from './load.js';
import { BENCH_SESSION_KEY } from './stack.js';

/** The fewest cache entries any worker reports (each scrape lands on the next worker). */
async function fewestCachedEntries(bffUrl: string, workers: number): Promise<number> {
  const counts: number[] = [];
  for (let i = 0; i < workers * 2; i++) {
    const { body } = await getOnNewConnection(`${bffUrl}/metrics`);
    counts.push(Number(/^bff_session_cache_entries (\d+)/m.exec(body)?.[1] ?? 0));
  }
  return Math.min(...counts);
}

/**
 * Fills every BFF process's session cache with `count` sessions: copies of the record of the
 * session `sessionId` under new ids. Each session is requested over `workers` keep-alive
 * connections opened one after another (the cluster primary hands them to the workers in turn),
 * so every worker sees every session without a burst of short-lived connections; passes repeat
 * until every worker reports them. Returns the fewest entries a worker holds.
 */
export async function fillSessionCaches(redis: Redis, bffUrl: string, sessionId: string, count: number, workers: number): Promise<number> {
  const ids = Array.from({ length: count }, () => randomBytes(32).toString('base64url'));
  const record = (await redis.get(sessionKey(sessionId, BENCH_SESSION_KEY)))!;
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.set(sessionKey(id, BENCH_SESSION_KEY), record, 'PX', 3_600_000);
  await pipeline.exec();
  let fewest = 0;
  // Each worker also caches the bench's own session, so "all" is within a few entries of `count`.
  for (let pass = 0; pass < 4 && fewest < count * 0.99; pass++) {
    // Four groups of `workers` connections; the connections of a group land on different workers.
    const groups = Array.from({ length: 4 }, () => Array.from({ length: workers }, () => new Agent({ keepAlive: true, maxSockets: 1 })));
    for (const group of groups) for (const lane of group) await getOnNewConnection(`${bffUrl}/healthz`, {}, lane); // opened in turn
    const queue = [...ids];
    await Promise.all(
      groups.map(async (group) => {
        for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
          for (const lane of group) {
            const { status } = await getOnNewConnection(`${bffUrl}/api/items`, { cookie: `bff=${id}`, 'x-csrf': '1' }, lane);
            if (status !== 200) throw new Error(`filling the session cache: ${status}`);
          }
        }
      }),
    );
    for (const lane of groups.flat()) lane.destroy();
    fewest = await fewestCachedEntries(bffUrl, workers);
  }
  return fewest;
}
