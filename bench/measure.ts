/**
 * One `measure(row)` for every row of the bench: a round of load on the row's URL, with the
 * CPU of the row's process, its memory sampled while it runs, the Redis commands it caused and
 * the calls the upstream saw from it, as the row asks. Rows are measured in interleaved rounds
 * (every row once per round), so a machine that slows down mid-run slows every row alike.
 */
import type { Redis } from 'ioredis';
import { load, median, summarize, type LoadResult } from './load.js';
import { cpuSeconds, rssMiB, type Children } from './processes.js';

/** The upstream's counters (`GET /__stats` of bench/upstream.ts). */
export type UpstreamStats = { withBearer: number; withDpop: number; withoutBearer: number };

/** One line of the bench: what is loaded, and what is measured around the load. Data only. */
export interface Row {
  /** Short name, used in messages ("proxied", "floor", ...). */
  name: string;
  url: string;
  headers: Record<string, string>;
  /** A file of session ids, one a line: each request carries the next one's cookie, round robin. */
  sessionsFile?: string;
  /** The process (tree) whose CPU is measured; none for the upstream itself. */
  pid?: number;
  /** Samples the process's RSS every 250 ms while it is loaded. */
  sampleRss?: boolean;
  /** Counts the Redis commands and round trips of each round (only one row may, Redis is shared). */
  countRedis?: boolean;
  /**
   * The upstream counter this row's calls raise. The calls the upstream saw are what CPU per
   * call divides by, and a row whose upstream saw fewer calls than autocannon counted answers is
   * invalid (the BFF answered without proxying, or without the token).
   */
  forwardedAs?: keyof UpstreamStats;
  /** A yardstick (direct, floor, nginx): its errors are printed but do not make the run invalid. */
  yardstick?: boolean;
  /** Any other reason the row is invalid, checked once everything has run. */
  invalidWhen?: () => string | undefined;
}

/** What a row's rounds measured, summed over its rounds. */
export interface Measured {
  row: Row;
  runs: LoadResult[];
  cpuSeconds: number;
  maxRssMiB: number;
  /** Calls the upstream saw from this row (forwardedAs), else the answers autocannon counted. */
  forwarded: number;
  redis: { commands: number; roundTrips: number; sessionReads: number };
}

/** What `measure` needs besides the row. */
export interface MeasureContext {
  procs: Children;
  redis: Redis;
  upstreamUrl: string;
  seconds: number;
}

/** An empty measurement for `row`. */
export function measured(row: Row): Measured {
  return { row, runs: [], cpuSeconds: 0, maxRssMiB: 0, forwarded: 0, redis: { commands: 0, roundTrips: 0, sessionReads: 0 } };
}

/** Commands Redis has run (INFO excluded), in total and for the session read (GETEX: a cache miss). */
async function redisCommands(client: Redis): Promise<{ total: number; getex: number }> {
  const info = await client.info('commandstats');
  let total = 0;
  let getex = 0;
  for (const match of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) {
    if (match[1] !== 'info') total += Number(match[2]);
    if (match[1] === 'getex') getex = Number(match[2]);
  }
  return { total, getex };
}

async function redisReads(client: Redis): Promise<number> {
  const info = await client.info('stats');
  return Number(/total_reads_processed:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

async function upstreamSaw(upstreamUrl: string): Promise<UpstreamStats> {
  return (await (await fetch(`${upstreamUrl}/__stats`)).json()) as UpstreamStats;
}

/** One round of `m.row`: loads it for `ctx.seconds` and adds what was measured to `m`. */
export async function measure(m: Measured, ctx: MeasureContext): Promise<void> {
  const { row } = m;
  const cpuBefore = row.pid ? cpuSeconds(row.pid) : 0;
  const commandsBefore = row.countRedis ? await redisCommands(ctx.redis) : undefined;
  const readsBefore = row.countRedis ? await redisReads(ctx.redis) : 0;
  const forwardedBefore = row.forwardedAs ? (await upstreamSaw(ctx.upstreamUrl))[row.forwardedAs] : 0;
  const sample = () => (m.maxRssMiB = Math.max(m.maxRssMiB, rssMiB(row.pid!)));
  if (row.sampleRss) sample();
  const sampler = row.sampleRss ? setInterval(sample, 250) : undefined;
  const run = await load(ctx.procs, row.url, ctx.seconds, row.headers, row.sessionsFile);
  m.runs.push(run);
  if (sampler) {
    clearInterval(sampler);
    sample();
  }
  if (row.pid) m.cpuSeconds += cpuSeconds(row.pid) - cpuBefore;
  if (commandsBefore) {
    // The bench's own INFO calls are one read each: subtract the one inside the window.
    m.redis.roundTrips += (await redisReads(ctx.redis)) - readsBefore - 1;
    const commandsAfter = await redisCommands(ctx.redis);
    m.redis.commands += commandsAfter.total - commandsBefore.total;
    m.redis.sessionReads += commandsAfter.getex - commandsBefore.getex;
  }
  m.forwarded += row.forwardedAs ? (await upstreamSaw(ctx.upstreamUrl))[row.forwardedAs] - forwardedBefore : run.requests;
}

/** Loads every row once for `seconds`, unmeasured (connection pools, JIT, caches). */
export async function warmUp(rows: Row[], seconds: number, ctx: MeasureContext): Promise<void> {
  for (const row of rows) await load(ctx.procs, row.url, seconds, row.headers, row.sessionsFile);
}

/** Measures `rounds` rounds, each row once per round, in order. */
export async function interleave(rows: Row[], rounds: number, ctx: MeasureContext): Promise<Measured[]> {
  const results = rows.map(measured);
  for (let round = 0; round < rounds; round++) for (const m of results) await measure(m, ctx);
  return results;
}

/** Answers autocannon counted over a row's rounds. */
export const requestsOf = (m: Measured) => m.runs.reduce((sum, r) => sum + r.requests, 0);

/** CPU milliseconds per call, over the calls the upstream saw (or the answers counted). */
export const cpuMsPerCall = (m: Measured) => (m.cpuSeconds / m.forwarded) * 1000;

/** Median req/s, p50, p99 of a row, its req/s as a ratio to another row's, and its CPU per call. */
export function figures(m: Measured, reference: Measured) {
  return {
    ...summarize(m.runs),
    ratio: median(m.runs.map((r) => r.rps)) / median(reference.runs.map((r) => r.rps)),
    cpuMsPerRequest: cpuMsPerCall(m),
  };
}

/** Why a row is invalid, or undefined: errors or non-2xx answers, calls the upstream missed, its own check. */
export function problems(m: Measured): string | undefined {
  const reasons: string[] = [];
  const non2xx = m.runs.reduce((sum, r) => sum + r.non2xx, 0);
  const errors = m.runs.reduce((sum, r) => sum + r.errors, 0);
  if (non2xx > 0 || errors > 0)
    reasons.push(`${non2xx} non-2xx (${m.runs.map((r) => JSON.stringify(r.statuses)).join(' ')}), ${errors} errors`);
  if (m.row.forwardedAs && m.forwarded < requestsOf(m))
    reasons.push(`the upstream saw ${m.forwarded} ${m.row.forwardedAs} calls for ${requestsOf(m)} answers`);
  const own = m.row.invalidWhen?.();
  if (own) reasons.push(own);
  return reasons.length ? `${m.row.name}: ${reasons.join('; ')}` : undefined;
}
