/**
 * `npm run bench`: measures the proxied request path against calling the upstream directly, in
 * the same run on the same machine, plus sign-in cost and Redis footprint per session.
 * `--smoke` runs one short round to prove the harness works (used by `npm test`); its numbers
 * are not meant to be read.
 *
 * Everything runs as separate processes on loopback (bench/stack.ts): redis-server, the upstream,
 * the BFF (production mode, Redis store) and autocannon as the load generator; the dev provider
 * runs in this process and is only used to sign in. The rows are data (bench/rows.ts), one
 * `measure()` measures any of them (bench/measure.ts), bench/report.ts prints the result.
 */
import { cpus } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { admissionNs } from './admission.js';
import { buildBaseline } from './baseline.js';
import { fillSessionCaches } from './cache-fill.js';
import { CONNECTIONS, echoRoundTrips, median, summarize } from './load.js';
import {
  cpuMsPerCall,
  figures,
  interleave,
  measure,
  measured,
  problems,
  requestsOf,
  warmUp,
  type MeasureContext,
  type Measured,
} from './measure.js';
import { targetsOf, report, type Summary } from './report.js';
import { fullCacheRow, mainRows, TRACED, tracedRow, type TracedVariant } from './rows.js';
import { redisFootprint, signInCost } from './sign-in.js';
import { expectOk, sessionIdOf, startStack } from './stack.js';
import { startTraceSink } from './trace-sink.js';
import { measureScaling, selectedGroups } from './scale.js';

const smoke = process.argv.includes('--smoke');
const root = fileURLToPath(new URL('..', import.meta.url));
// BENCH_ROUNDS / BENCH_SECONDS shorten or lengthen a full run (quick experiments, steadier medians).
const ROUND_SECONDS = smoke ? 1 : Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = smoke ? 1 : Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP_SECONDS = smoke ? 1 : 4;
/** A git ref whose BFF is measured beside this one, round by round (bench/baseline.ts). */
const BASELINE = smoke ? undefined : process.env.BENCH_BASELINE;
const SIGN_INS = smoke ? 3 : 40;
/** Sign-ins per sign-in row (after as many to warm up): at /proc's 10 ms ticks, 0.1 ms resolution. */
const SIGN_IN_ROW_COUNT = smoke ? 3 : 100;
const SESSIONS_FOR_FOOTPRINT = smoke ? 3 : 20;
/** Sessions each BFF process holds in its cache while its memory is measured (the RSS target). */
const CACHED_SESSIONS = smoke ? 200 : 10_000;
const ECHOES = smoke ? 200 : 5000;
/** BENCH_PROFILE=1: one worker under --cpu-prof; the profile lands in bench/results/profile/. */
const PROFILE = process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', '--cpu-prof-dir=bench/results/profile'] : [];
const WORKERS = PROFILE.length ? 1 : Number(process.env.BFF_WORKERS ?? '2');
/** BENCH_ROWS: which "cost as the work grows" groups run (sessions,routes,workers; none). */
const SCALE_GROUPS = selectedGroups(process.env.BENCH_ROWS);
/** Rounds of each scaling row: fewer than the main rows', to keep a full run near 15 minutes. */
const SCALE_ROUNDS = Math.min(ROUNDS, 3);
const SESSION_COUNTS = smoke ? [1, 100] : [1, 1000, 10_000, 100_000];
const ROUTE_COUNTS = smoke ? [1, 20] : [1, 20, 200];
const WORKER_COUNTS = [...new Set([1, 2, cpus().length])];
/** Idle WebSockets per sockets row (16 per session; each BFF worker holds two descriptors a socket). */
const SOCKET_COUNTS = smoke ? [32] : [1000, 10_000];

async function main() {
  // Redirect URIs for every BFF that signs in: the plain one, the one with DPoP (the price of a
  // proof per call), and the sign-in rows' (registered in start order; the others take any port).
  const stack = await startStack(root, { ports: 10, workers: WORKERS });
  let baselineBuild: ReturnType<typeof buildBaseline> | undefined;
  try {
    baselineBuild = BASELINE ? buildBaseline(root, BASELINE) : undefined;
    const redis = stack.redis.client;
    const ctx: MeasureContext = { procs: stack.procs, redis, upstreamUrl: stack.upstreamUrl, seconds: ROUND_SECONDS };
    const bff = await stack.startBff({}, { nodeFlags: PROFILE });
    const dpop = await stack.startBff({ OIDC_DPOP: 'true', DPOP_PRIVATE_KEY: stack.dpopKey });
    // BENCH_BASELINE: the same settings and session store, the code as it was at that ref (its own session).
    const baseline = baselineBuild && (await stack.startBff({}, { entry: baselineBuild.entry }));

    const signIn = await signInCost(stack, redis, bff, SIGN_INS);
    const footprint = await redisFootprint(stack, redis, bff.url, SESSIONS_FOR_FOOTPRINT);
    const headers = await stack.apiHeaders(bff.url);
    const dpopHeaders = await stack.apiHeaders(dpop.url);
    const baselineHeaders = baseline && (await stack.apiHeaders(baseline.url));
    const floor = await stack.startFloor(headers, WORKERS);
    const nginx = await stack.startNginxProxy();
    if (!nginx) console.log('nginx is not installed (Debian: apt-get install nginx-light): the nginx row is skipped.');

    const rows = mainRows({ upstreamUrl: stack.upstreamUrl, floor, nginx, bff, dpop, baseline, baselineHeaders, headers, dpopHeaders });
    await warmUp(rows, WARMUP_SECONDS, ctx);
    const results = await interleave(rows, ROUNDS, ctx);
    const row = (name: string) => results.find((m) => m.row.name === name);

    // WebSocket echo round trips, one message at a time, with nothing else running.
    const wsDirect = await echoRoundTrips(`${stack.upstreamUrl.replace('http:', 'ws:')}/echo`, {}, ECHOES);
    const wsProxied = await echoRoundTrips(
      `${bff.url.replace('http:', 'ws:')}/api/echo`,
      { cookie: headers.cookie!, origin: bff.url },
      ECHOES,
    );

    // Memory with a full cache: CACHED_SESSIONS sessions in each process, then one more round.
    const cachedInEveryWorker = await fillSessionCaches(redis, bff.url, sessionIdOf(headers), CACHED_SESSIONS, WORKERS);
    const withCache = measured(fullCacheRow(bff, headers));
    await measure(withCache, ctx);

    // Tracing cost: the same build, settings and session (it lives in Redis) on a BFF with
    // tracing on, exporting OTLP/protobuf to a sink in this process; one variant at a time.
    const sink = await startTraceSink();
    const traced = {} as Record<TracedVariant, { m: Measured; exports: number }>;
    for (const variant of Object.keys(TRACED) as TracedVariant[]) {
      const tracedBff = await stack.startBff({ OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, ...TRACED[variant] });
      await expectOk(`${tracedBff.url}/api/items`, headers);
      const tracedRows = [tracedRow(variant, tracedBff, headers, () => traced[variant].exports)];
      await warmUp(tracedRows, WARMUP_SECONDS, ctx);
      const exportedBefore = sink.exports;
      const [m] = await interleave(tracedRows, ROUNDS, ctx);
      await tracedBff.stop(); // flushes what is still batched
      traced[variant] = { m: m!, exports: sink.exports - exportedBefore };
    }
    await sink.close();

    const scaling = await measureScaling(
      {
        stack,
        redis,
        measure: ctx,
        headers,
        sessionId: sessionIdOf(headers),
        rounds: SCALE_ROUNDS,
        warmupSeconds: WARMUP_SECONDS,
        sessionCounts: SESSION_COUNTS,
        routeCounts: ROUTE_COUNTS,
        workerCounts: WORKER_COUNTS,
        socketCounts: SOCKET_COUNTS,
        echoes: smoke ? 200 : 2000,
        signIns: SIGN_IN_ROW_COUNT,
        signInLanes: 8,
      },
      SCALE_GROUPS,
    );

    const direct = row('direct')!;
    const proxied = row('proxied')!;
    const nginxRow = row('nginx');
    const baselineRow = row('baseline');
    const all = [...results, withCache, traced.sampled.m, traced.unsampled.m, ...scaling.measured];
    // What made a run invalid, said by name (a failed round is reported, never hidden). Errors of
    // the yardsticks (direct, floor, nginx) are reported too, but only the BFF's own rows decide.
    const failed = all.filter((m) => !m.row.yardstick).flatMap((m) => problems(m) ?? []);
    const yardstickErrors = all.filter((m) => m.row.yardstick).flatMap((m) => problems(m) ?? []);
    if (failed.length) console.log(`Invalid rounds: ${failed.join('; ')}`);
    if (yardstickErrors.length) console.log(`Yardstick rounds with errors (reported, not disqualifying): ${yardstickErrors.join('; ')}`);

    const rps = (m: Measured) => median(m.runs.map((r) => r.rps));
    const tracedSummary = ({ m, exports }: { m: Measured; exports: number }) => ({
      ...summarize(m.runs),
      ratioToPlain: rps(m) / rps(proxied),
      cpuMsPerRequest: cpuMsPerCall(m),
      exportRequests: exports,
      requests: requestsOf(m),
    });
    const summary: Summary = {
      mode: smoke ? 'smoke' : 'full',
      valid: failed.length === 0,
      machine: { cpus: cpus().length, node: process.version },
      settings: { connections: CONNECTIONS, roundSeconds: ROUND_SECONDS, rounds: ROUNDS },
      direct: summarize(direct.runs),
      floor: figures(row('floor')!, direct),
      nginx: nginxRow ? figures(nginxRow, direct) : null,
      proxied: summarize(proxied.runs),
      ratio: rps(proxied) / rps(direct),
      dpop: figures(row('dpop')!, direct),
      ratioToNginx: nginxRow ? rps(proxied) / rps(nginxRow) : null,
      bff: { workers: WORKERS, cpuMsPerRequest: cpuMsPerCall(proxied), maxRssMiB: proxied.maxRssMiB },
      websocket: { echoes: ECHOES, direct: wsDirect, proxied: wsProxied },
      cache: {
        hitRate: 1 - proxied.redis.sessionReads / proxied.forwarded,
        sessions: CACHED_SESSIONS,
        entriesInEveryWorker: cachedInEveryWorker,
        maxRssMiB: withCache.maxRssMiB,
      },
      redis: {
        commandsPerRequest: proxied.redis.commands / proxied.forwarded,
        roundTripsPerRequest: proxied.redis.roundTrips / proxied.forwarded,
        ...footprint,
      },
      signIn,
      tracing: { sampled: tracedSummary(traced.sampled), unsampled: tracedSummary(traced.unsampled) },
      admission: { nsPerCall: admissionNs() },
      baseline: baselineRow ? { ref: BASELINE!, ...figures(baselineRow, direct) } : null,
      scaling: scaling.figures,
      upstreamSaw: (await (await fetch(`${stack.upstreamUrl}/__stats`)).json()) as Summary['upstreamSaw'],
    };
    const targets = targetsOf(summary);
    report(summary, targets);
    mkdirSync(`${root}/bench/results`, { recursive: true });
    writeFileSync(
      `${root}/bench/results/${smoke ? 'smoke' : 'latest'}.json`,
      `${JSON.stringify({ ...summary, targets: Object.fromEntries(targets) }, null, 2)}\n`,
    );
    if (!summary.valid) process.exitCode = 1;
  } finally {
    baselineBuild?.remove();
    await stack.stop();
  }
}

await main();
