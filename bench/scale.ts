/**
 * "Cost as the work grows" (issue 29): the proxied GET again, with more of what a deployment
 * has: many signed-in sessions called round robin, many API_ROUTES entries, one or more cluster
 * workers, idle WebSockets (bench/sockets.ts), and the price of a sign-in with and without PAR
 * (bench/sign-in.ts). Each group runs on fresh BFFs of its own (same build, settings and Redis), so
 * the main rows' caches do not leak into them. BENCH_ROWS picks groups
 * (`sessions,routes,workers,sockets,signins`; `none`).
 */
import type { Redis } from 'ioredis';
import { cpuMsPerCall, interleave, warmUp, type MeasureContext, type Measured, type Row } from './measure.js';
import { median } from './load.js';
import { redisUsedMemory, sessionCopies } from './session-copies.js';
import { signInRows, type SignInFigures } from './sign-in.js';
import { socketsGroup, type SocketsFigures } from './sockets.js';
import type { Stack } from './stack.js';

/** The groups BENCH_ROWS may name. */
export const SCALE_GROUPS = ['sessions', 'routes', 'workers', 'sockets', 'signins'] as const;
export type ScaleGroup = (typeof SCALE_GROUPS)[number];

/** The groups a BENCH_ROWS value selects: all when unset, none for `none`. */
export function selectedGroups(value: string | undefined): ScaleGroup[] {
  if (value === undefined || value.trim() === '') return [...SCALE_GROUPS];
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name && name !== 'none');
  for (const name of names)
    if (!(SCALE_GROUPS as readonly string[]).includes(name))
      throw new Error(`BENCH_ROWS: unknown group "${name}" (known: ${SCALE_GROUPS.join(', ')}, none)`);
  return SCALE_GROUPS.filter((group) => names.includes(group));
}

/** The figures every scaling row reports. */
export interface ScaleFigures {
  rps: number;
  p99: number;
  cpuMsPerRequest: number;
  maxRssMiB: number;
}
/** One sessions row: the figures plus Redis and cache figures. */
export type SessionsFigures = ScaleFigures & {
  sessions: number;
  commandsPerRequest: number;
  cacheHitRate: number;
  redisBytesPerSession: number;
};

const figuresOf = (m: Measured): ScaleFigures => ({
  rps: median(m.runs.map((r) => r.rps)),
  p99: median(m.runs.map((r) => r.p99)),
  cpuMsPerRequest: cpuMsPerCall(m),
  maxRssMiB: m.maxRssMiB,
});

/** What the scaling groups need. */
export interface ScaleContext {
  stack: Stack;
  redis: Redis;
  measure: MeasureContext;
  /** A signed-in call's headers (its session is the template of the copies). */
  headers: Record<string, string>;
  sessionId: string;
  rounds: number;
  warmupSeconds: number;
  /** Distinct sessions per sessions row; API_ROUTES entries per routes row; workers per workers row. */
  sessionCounts: number[];
  routeCounts: number[];
  workerCounts: number[];
  /** Idle WebSockets per sockets row, and the echo round trips timed beside them. */
  socketCounts: number[];
  echoes: number;
  /** Sign-ins per sign-in row, and the lanes of the parallel rows. */
  signIns: number;
  signInLanes: number;
}

const apiRow = (name: string, bff: { url: string; pid: number }, headers: Record<string, string>, extra: Partial<Row> = {}): Row => ({
  name,
  url: `${bff.url}/api/items`,
  headers,
  pid: bff.pid,
  sampleRss: true,
  forwardedAs: 'withBearer',
  ...extra,
});

/**
 * Sessions: one BFF (default SESSION_CACHE_ENTRIES), called round robin over 1 ... 100,000
 * distinct sessions, one count after another (each warmed up first: interleaving would have each
 * row evict the next one's cache). Redis memory per session is the growth of `used_memory` over
 * the copies made for the row, divided by the row's sessions.
 */
async function sessionsGroup(c: ScaleContext): Promise<{ rows: SessionsFigures[]; measured: Measured[] }> {
  const bff = await c.stack.startBff();
  const copies = await sessionCopies(c.redis, c.sessionId);
  const memoryBefore = await redisUsedMemory(c.redis);
  const rows: SessionsFigures[] = [];
  const all: Measured[] = [];
  try {
    for (const count of c.sessionCounts) {
      const sessionsFile = await copies.upTo(count);
      const redisBytesPerSession = ((await redisUsedMemory(c.redis)) - memoryBefore) / count;
      const row = apiRow(`sessions ${count}`, bff, { 'x-csrf': '1' }, { sessionsFile, countRedis: true });
      await warmUp([row], c.warmupSeconds, c.measure);
      const [m] = await interleave([row], c.rounds, c.measure);
      all.push(m!);
      rows.push({
        sessions: count,
        ...figuresOf(m!),
        commandsPerRequest: m!.redis.commands / m!.forwarded,
        // Reads can exceed the calls the upstream counted by a few (calls still in flight as a round
        // ends): that is no hits, not fewer than none.
        cacheHitRate: Math.max(0, 1 - m!.redis.sessionReads / m!.forwarded),
        redisBytesPerSession,
      });
    }
  } finally {
    await bff.stop();
  }
  return { rows, measured: all };
}

/** `count` API_ROUTES entries, `/api` last in matching order (longer prefixes are tried first). */
function routesWith(count: number, upstreamUrl: string): string {
  const others = Array.from({ length: count - 1 }, (_, i) => `/r${String(i).padStart(4, '0')}=${upstreamUrl}`);
  return [...others, `/api=${upstreamUrl}#websocket=true`].join(',');
}

/** BFFs differing in one setting, their rows interleaved round by round. */
async function variantsGroup<K extends string>(
  c: ScaleContext,
  label: K,
  values: number[],
  env: (value: number) => Record<string, string>,
) {
  const bffs = [];
  try {
    for (const value of values) bffs.push(await c.stack.startBff(env(value)));
    const rows = bffs.map((bff, i) => apiRow(`${label} ${values[i]}`, bff, c.headers));
    await warmUp(rows, c.warmupSeconds, c.measure);
    const all = await interleave(rows, c.rounds, c.measure);
    return { rows: all.map((m, i) => ({ [label]: values[i]!, ...figuresOf(m) }) as ScaleFigures & Record<K, number>), measured: all };
  } finally {
    for (const bff of bffs) await bff.stop();
  }
}

/** The selected groups' figures, and their measurements (for the validity check). */
export async function measureScaling(c: ScaleContext, groups: ScaleGroup[]) {
  const result: {
    sessions?: SessionsFigures[];
    routes?: (ScaleFigures & { routes: number })[];
    workers?: (ScaleFigures & { workers: number })[];
    sockets?: SocketsFigures[];
    signIns?: SignInFigures[];
  } = {};
  const all: Measured[] = [];
  // First: its BFFs sign in, so they need ports registered with the provider (taken in start order).
  if (groups.includes('signins')) result.signIns = await signInRows(c.stack, c.redis, c.signIns, c.signInLanes);
  if (groups.includes('sessions')) {
    const { rows, measured: m } = await sessionsGroup(c);
    result.sessions = rows;
    all.push(...m);
  }
  if (groups.includes('routes')) {
    const { rows, measured: m } = await variantsGroup(c, 'routes', c.routeCounts, (count) => ({
      API_ROUTES: routesWith(count, c.measure.upstreamUrl),
    }));
    result.routes = rows;
    all.push(...m);
  }
  if (groups.includes('workers')) {
    const { rows, measured: m } = await variantsGroup(c, 'workers', c.workerCounts, (workers) => ({ BFF_WORKERS: String(workers) }));
    result.workers = rows;
    all.push(...m);
  }
  if (groups.includes('sockets')) result.sockets = await socketsGroup(c.stack, c.redis, c.sessionId, c.headers, c.socketCounts, c.echoes);
  return { figures: result, measured: all };
}
