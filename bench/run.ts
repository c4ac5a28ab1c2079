/**
 * `npm run bench`: measures the proxied request path against calling the upstream directly, in
 * the same run on the same machine, plus sign-in cost and Redis footprint per session.
 * `--smoke` runs one short round to prove the harness works (used by `npm test`); its numbers
 * are not meant to be read.
 *
 * Everything runs as separate processes on loopback: redis-server, the upstream, the BFF
 * (production mode, Redis store) and autocannon as the load generator; the dev provider runs in
 * this process and is only used to sign in.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Agent, get as httpGet } from 'node:http';
import { WebSocket } from 'ws';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DEMO_USERS, startIdp } from '../dev/idp/index.js';
import { loginThroughIdp } from '../dev/idp/test-login.js';
import { TestBrowser } from '../test/support/browser.js';
import { freePort, startRedis } from '../test/support/redis.js';
import { sessionKey } from '../test/support/bff.js';
import { Budget } from '../bff/src/proxy/budget.js';
import { buildBaseline } from './baseline.js';
import { findNginx, startNginx } from './nginx.js';
import { startTraceSink } from './trace-sink.js';

const BENCH_SESSION_KEY = 'bench-session-key-0123456789-0123456789-0123';

const smoke = process.argv.includes('--smoke');
const root = fileURLToPath(new URL('..', import.meta.url));
const CONNECTIONS = 50;
// BENCH_ROUNDS / BENCH_SECONDS shorten or lengthen a full run (quick experiments, steadier medians).
const ROUND_SECONDS = smoke ? 1 : Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = smoke ? 1 : Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP_SECONDS = smoke ? 1 : 4;
/** A git ref whose BFF is measured beside this one, round by round (bench/baseline.ts). */
const BASELINE = smoke ? undefined : process.env.BENCH_BASELINE;
const SIGN_INS = smoke ? 3 : 40;
const SESSIONS_FOR_FOOTPRINT = smoke ? 3 : 20;
/** Sessions each BFF process holds in its cache while its memory is measured (the RSS target). */
const CACHED_SESSIONS = smoke ? 200 : 10_000;
/**
 * The BFF again with tracing on (docs/observability.md): every request sampled, and sampled
 * never unless the caller's traceparent says so (autocannon sends none): the SDK still makes a
 * span context and a traceparent per call, but records and exports nothing.
 */
const TRACED = {
  sampled: { OTEL_TRACES_SAMPLER: 'always_on' },
  unsampled: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' },
} as const;
type TracedVariant = keyof typeof TRACED;

interface LoadResult {
  /** Answers by HTTP status, to say what made a round invalid. */
  statuses: Record<string, number>;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
}

function children() {
  const started: ChildProcess[] = [];
  return {
    spawn(command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
      const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
      started.push(child);
      return child;
    },
    adopt(child: ChildProcess) {
      started.push(child);
      return child;
    },
    stopAll() {
      for (const child of started) if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

async function waitFor(url: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not come up`);
}

/** Runs autocannon in its own process (so the load generator's CPU is not ours) and parses its JSON. */
async function load(
  procs: ReturnType<typeof children>,
  url: string,
  seconds: number,
  headers: Record<string, string>,
): Promise<LoadResult> {
  const args = [fileURLToPath(import.meta.resolve('autocannon/autocannon.js')), '-c', String(CONNECTIONS), '-d', String(seconds), '-j'];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}=${value}`);
  args.push(url);
  const child = procs.spawn(process.execPath, args);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  await new Promise((resolve) => child.on('exit', resolve));
  const result = JSON.parse(output) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
    timeouts: number;
    '2xx': number;
    statusCodeStats?: Record<string, { count: number }>;
  };
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    statuses: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([status, { count }]) => [status, count])),
    errors: result.errors + result.timeouts,
  };
}

/** A process and its children (the BFF's cluster workers), from /proc. */
function processTree(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // process gone
  }
  return [pid, ...children.flatMap(processTree)];
}
/** A /proc file of a process, or '' when the process has gone meanwhile (short-lived helpers). */
function procFile(pid: number, name: string): string {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return '';
  }
}
/** CPU seconds (user + system) a process tree has used. */
function cpuSeconds(pid: number): number {
  let total = 0;
  for (const member of processTree(pid)) {
    const fields = procFile(member, 'stat').split(') ')[1]?.split(' ');
    if (fields) total += (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
  }
  return total;
}
/** Resident memory of the largest single process in the tree (what one instance needs). */
function rssMiB(pid: number): number {
  let largest = 0;
  for (const member of processTree(pid)) {
    const match = /VmRSS:\s+(\d+) kB/.exec(procFile(member, 'status'));
    largest = Math.max(largest, match ? Number(match[1]) / 1024 : 0);
  }
  return largest;
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const summarize = (runs: LoadResult[]) => ({
  rps: median(runs.map((r) => r.rps)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
});

type RedisClient = Awaited<ReturnType<typeof startRedis>>['client'];

/** Commands Redis has run (INFO excluded), in total and for the session read (GETEX: a cache miss). */
async function redisCommands(client: RedisClient): Promise<{ total: number; getex: number }> {
  const info = await client.info('commandstats');
  let total = 0;
  let getex = 0;
  for (const match of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) {
    if (match[1] !== 'info') total += Number(match[2]);
    if (match[1] === 'getex') getex = Number(match[2]);
  }
  return { total, getex };
}

/** One GET on a connection of its own (the BFF's cluster primary hands new connections to its workers in turn). */
function getOnNewConnection(
  url: string,
  headers: Record<string, string> = {},
  agent: Agent | false = false,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpGet(url, { headers, agent }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
  });
}

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
 * Fills every BFF process's session cache with `count` sessions: copies of the bench session's
 * record under new ids. Each session is requested over `workers` keep-alive connections opened
 * one after another (the cluster primary hands them to the workers in turn), so every worker
 * sees every session without a burst of short-lived connections; passes repeat until every
 * worker reports them.
 */
async function fillSessionCaches(client: RedisClient, bffUrl: string, template: string, count: number, workers: number): Promise<number> {
  const ids = Array.from({ length: count }, () => randomBytes(32).toString('base64url'));
  const record = (await client.get(template))!;
  const pipeline = client.pipeline();
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

/** Round-trip times (µs) of `count` small messages sent one after another over a WebSocket. */
async function echoRoundTrips(url: string, headers: Record<string, string>, count: number): Promise<{ p50: number; p99: number }> {
  const ws = new WebSocket(url, { headers });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const times: number[] = [];
  const payload = JSON.stringify({ type: 'ping', pad: 'x'.repeat(64) });
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await new Promise<void>((resolve) => {
      ws.once('message', () => resolve());
      ws.send(payload);
    });
    times.push((performance.now() - started) * 1000);
  }
  ws.close();
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(count / 2)]!, p99: times[Math.floor(count * 0.99)]! };
}

async function redisReads(client: RedisClient): Promise<number> {
  const info = await client.info('stats');
  return Number(/total_reads_processed:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

async function main() {
  const procs = children();
  const redis = await startRedis();
  try {
    const upstream = procs.spawn(process.execPath, ['--import', 'tsx', 'bench/upstream.ts']);
    const { port: upstreamPort } = JSON.parse(
      (await createInterface({ input: upstream.stdout! })[Symbol.asyncIterator]().next()).value as string,
    ) as {
      port: number;
    };
    const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;

    const bffPort = await freePort();
    const bffUrl = `http://127.0.0.1:${bffPort}`;
    // A second BFF, the same in every way but OIDC_DPOP=true: its row is the price of a proof per call.
    const dpopPort = await freePort();
    const dpopUrl = `http://127.0.0.1:${dpopPort}`;
    const clientSecret = 'bench-client-secret-0123456789-0123456789';
    const idp = await startIdp({
      clients: [
        {
          client_id: 'bench',
          client_secret: clientSecret,
          redirect_uris: [`${bffUrl}/bff/callback`, `${dpopUrl}/bff/callback`],
          post_logout_redirect_uris: [`${bffUrl}/`],
        },
      ],
      apiAudience: 'urn:bff-kit:bench',
      // Longer than a run: the bench measures the steady state, and its 10,000 copies of one session
      // (the cache memory figure) share one refresh token that must never be spent.
      accessTokenTtl: 3600,
    });
    // The production build, as `npm run start:bff` runs it.
    const build = procs.spawn(process.execPath, [fileURLToPath(import.meta.resolve('typescript/bin/tsc')), '-p', 'tsconfig.build.json']);
    if ((await new Promise((resolve) => build.on('exit', resolve))) !== 0) throw new Error('building the BFF failed');
    // BENCH_PROFILE=1: one worker under --cpu-prof; the profile lands in bench/results/profile/.
    const profile = process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', '--cpu-prof-dir=bench/results/profile'] : [];
    // Exactly the command line of `npm run start:bff`, node flags included.
    const startBff = (JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts[
      'start:bff'
    ]!;
    const workers = profile.length ? 1 : Number(process.env.BFF_WORKERS ?? '2');
    const bffEnv = {
      BFF_WORKERS: String(workers),
      NODE_ENV: 'production',
      PORT: String(bffPort),
      PUBLIC_URL: bffUrl,
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: 'bench',
      OIDC_CLIENT_SECRET: clientSecret,
      REDIS_URL: redis.url,
      SESSION_KEYS: BENCH_SESSION_KEY,
      API_ROUTES: `/api=${upstreamUrl}#websocket=true`,
      LOG_LEVEL: 'warn',
      LOGIN_RATE_LIMIT: '0',
      // The load generator drives all its connections with one session (a real user holds a few
      // calls at once): the session's call budget must not be what is measured.
      API_MAX_CALLS_PER_SESSION: String(CONNECTIONS * 2),
    };
    const bff = procs.spawn(process.execPath, [...profile, ...startBff.split(/\s+/).slice(1)], bffEnv);
    const dpopKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const dpopBff = procs.spawn(process.execPath, startBff.split(/\s+/).slice(1), {
      ...bffEnv,
      PORT: String(dpopPort),
      PUBLIC_URL: dpopUrl,
      OIDC_DPOP: 'true',
      DPOP_PRIVATE_KEY: dpopKey,
    });
    await waitFor(`${bffUrl}/readyz`);
    await waitFor(`${dpopUrl}/readyz`);
    // BENCH_BASELINE: the same settings and session store, the code as it was at that ref.
    const baselineBuild = BASELINE ? buildBaseline(root, BASELINE) : undefined;
    const baselinePort = await freePort();
    const baselineUrl = `http://127.0.0.1:${baselinePort}`;
    const baselineBff = baselineBuild
      ? procs.spawn(process.execPath, [...startBff.split(/\s+/).slice(1, -1), baselineBuild.entry], {
          ...bffEnv,
          PORT: String(baselinePort),
          PUBLIC_URL: baselineUrl,
        })
      : undefined;
    if (baselineBff) await waitFor(`${baselineUrl}/readyz`);

    const signIn = async (at = bffUrl) => {
      const browser = new TestBrowser();
      const start = await browser.fetch(`${at}/bff/login`);
      await browser.fetch(await loginThroughIdp(start.headers.get('location')!, DEMO_USERS[0]!));
      return browser;
    };

    // Sign-in cost: whole round trips (BFF + provider) per second, and BFF CPU per sign-in.
    const cpuBeforeSignIns = cpuSeconds(bff.pid!);
    const signInStarted = performance.now();
    for (let i = 0; i < SIGN_INS; i++) await signIn();
    const signInSeconds = (performance.now() - signInStarted) / 1000;
    const bffCpuPerSignInMs = ((cpuSeconds(bff.pid!) - cpuBeforeSignIns) / SIGN_INS) * 1000;

    // Footprint: keys and bytes one session adds to Redis.
    await redis.client.flushall();
    for (let i = 0; i < SESSIONS_FOR_FOOTPRINT; i++) await signIn();
    const keys = (await redis.client.keys('bff:*')).filter((key) => !key.startsWith('bff:login:') && !key.includes('login-rate'));
    let bytes = 0;
    for (const key of keys) bytes += Number(await redis.client.memory('USAGE', key));
    const sessionKeys = keys.filter((key) => key.endsWith(':session'));
    let valueBytes = 0;
    for (const key of sessionKeys) valueBytes += await redis.client.strlen(key);

    const browser = await signIn();
    const headers = { cookie: browser.cookieHeader(bffUrl)!, 'x-csrf': '1' };
    const check = await fetch(`${bffUrl}/api/items`, { headers });
    if (check.status !== 200) throw new Error(`proxied call answered ${check.status}`);
    const dpopHeaders = { cookie: (await signIn(dpopUrl)).cookieHeader(dpopUrl)!, 'x-csrf': '1' };
    const dpopCheck = await fetch(`${dpopUrl}/api/items`, { headers: dpopHeaders });
    if (dpopCheck.status !== 200) throw new Error(`proxied call with DPoP answered ${dpopCheck.status}`);

    // The yardstick: a bare proxy on the same packages, reading this session's value.
    const sessionId = /(?:^|; )bff=([^;]+)/.exec(headers.cookie)![1]!;
    const floor = procs.spawn(process.execPath, [
      '--import',
      'tsx',
      'bench/floor.ts',
      String(await freePort()),
      upstreamUrl,
      redis.url,
      sessionKey(sessionId, BENCH_SESSION_KEY),
      String(workers),
    ]);
    const { port: floorPort } = JSON.parse(
      (await createInterface({ input: floor.stdout! })[Symbol.asyncIterator]().next()).value as string,
    ) as { port: number };
    const floorUrl = `http://127.0.0.1:${floorPort}/items`;

    // The other yardstick: a plain nginx reverse proxy, when nginx is installed.
    const nginxBinary = findNginx();
    const nginxPort = await freePort();
    const nginx = nginxBinary ? procs.adopt(startNginx(nginxBinary, nginxPort, upstreamUrl)) : undefined;
    const nginxUrl = `http://127.0.0.1:${nginxPort}/items`;
    if (nginx) await waitFor(nginxUrl);
    else console.log('nginx is not installed (Debian: apt-get install nginx-light): the nginx row is skipped.');

    await load(procs, `${upstreamUrl}/items`, WARMUP_SECONDS, {});
    await load(procs, floorUrl, WARMUP_SECONDS, {});
    if (nginx) await load(procs, nginxUrl, WARMUP_SECONDS, {});
    await load(procs, `${bffUrl}/api/items`, WARMUP_SECONDS, headers);
    await load(procs, `${dpopUrl}/api/items`, WARMUP_SECONDS, dpopHeaders);
    // The session lives in Redis: the baseline BFF serves the same cookie.
    if (baselineBff) await load(procs, `${baselineUrl}/api/items`, WARMUP_SECONDS, headers);
    const baselineRuns: LoadResult[] = [];
    let baselineCpu = 0;

    const direct: LoadResult[] = [];
    const floorRuns: LoadResult[] = [];
    const nginxRuns: LoadResult[] = [];
    const proxied: LoadResult[] = [];
    let floorCpu = 0;
    let nginxCpu = 0;
    let sessionReads = 0;
    let bffCpu = 0;
    let maxRss = 0;
    let commands = 0;
    let roundTrips = 0;
    const dpopRuns: LoadResult[] = [];
    let dpopCpu = 0;
    const upstreamSaw = async () =>
      (await (await fetch(`${upstreamUrl}/__stats`)).json()) as { withBearer: number; withDpop: number; withoutBearer: number };
    let forwarded = 0;
    for (let round = 0; round < ROUNDS; round++) {
      direct.push(await load(procs, `${upstreamUrl}/items`, ROUND_SECONDS, {}));
      const floorCpuBefore = cpuSeconds(floor.pid!);
      floorRuns.push(await load(procs, floorUrl, ROUND_SECONDS, {}));
      floorCpu += cpuSeconds(floor.pid!) - floorCpuBefore;
      if (nginx) {
        const nginxCpuBefore = cpuSeconds(nginx.pid!);
        nginxRuns.push(await load(procs, nginxUrl, ROUND_SECONDS, {}));
        nginxCpu += cpuSeconds(nginx.pid!) - nginxCpuBefore;
      }
      const cpuBefore = cpuSeconds(bff.pid!);
      const commandsBefore = await redisCommands(redis.client);
      const readsBefore = await redisReads(redis.client);
      const forwardedBefore = (await upstreamSaw()).withBearer;
      const sampler = setInterval(() => (maxRss = Math.max(maxRss, rssMiB(bff.pid!))), 250);
      proxied.push(await load(procs, `${bffUrl}/api/items`, ROUND_SECONDS, headers));
      clearInterval(sampler);
      maxRss = Math.max(maxRss, rssMiB(bff.pid!));
      bffCpu += cpuSeconds(bff.pid!) - cpuBefore;
      // The bench's own INFO calls are one read each: subtract them.
      roundTrips += (await redisReads(redis.client)) - readsBefore - 1;
      const commandsAfter = await redisCommands(redis.client);
      commands += commandsAfter.total - commandsBefore.total;
      sessionReads += commandsAfter.getex - commandsBefore.getex;
      forwarded += (await upstreamSaw()).withBearer - forwardedBefore;
      if (baselineBff) {
        const before = cpuSeconds(baselineBff.pid!);
        baselineRuns.push(await load(procs, `${baselineUrl}/api/items`, ROUND_SECONDS, headers));
        baselineCpu += cpuSeconds(baselineBff.pid!) - before;
      }
      const dpopCpuBefore = cpuSeconds(dpopBff.pid!);
      dpopRuns.push(await load(procs, `${dpopUrl}/api/items`, ROUND_SECONDS, dpopHeaders));
      dpopCpu += cpuSeconds(dpopBff.pid!) - dpopCpuBefore;
    }

    // WebSocket echo round trips, one message at a time, with nothing else running.
    const echoes = smoke ? 200 : 5000;
    const wsDirect = await echoRoundTrips(`${upstreamUrl.replace('http:', 'ws:')}/echo`, {}, echoes);
    const wsProxied = await echoRoundTrips(
      `${bffUrl.replace('http:', 'ws:')}/api/echo`,
      { cookie: headers.cookie, origin: bffUrl },
      echoes,
    );

    // Memory with a full cache: CACHED_SESSIONS sessions in each process, then one more round.
    const cachedInEveryWorker = await fillSessionCaches(
      redis.client,
      bffUrl,
      sessionKey(sessionId, BENCH_SESSION_KEY),
      CACHED_SESSIONS,
      workers,
    );
    let rssWithCache = rssMiB(bff.pid!);
    const cacheSampler = setInterval(() => (rssWithCache = Math.max(rssWithCache, rssMiB(bff.pid!))), 250);
    await load(procs, `${bffUrl}/api/items`, ROUND_SECONDS, headers);
    clearInterval(cacheSampler);

    // Tracing cost: the same build, settings and session (it lives in Redis) on a BFF with
    // tracing on, exporting OTLP/protobuf to a sink in this process; one variant at a time.
    const sink = await startTraceSink();
    const tracedRuns = {} as Record<TracedVariant, { runs: LoadResult[]; cpu: number; spans: number }>;
    for (const variant of Object.keys(TRACED) as TracedVariant[]) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}/api/items`;
      const traced = procs.spawn(process.execPath, startBff.split(/\s+/).slice(1), {
        ...bffEnv,
        PORT: String(port),
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        ...TRACED[variant],
      });
      await waitFor(`http://127.0.0.1:${port}/readyz`);
      const probe = await fetch(url, { headers });
      if (probe.status !== 200) throw new Error(`the ${variant} traced BFF answered ${probe.status}: ${await probe.text()}`);
      await load(procs, url, WARMUP_SECONDS, headers);
      const entry = { runs: [] as LoadResult[], cpu: 0, spans: 0 };
      const exportedBefore = sink.exports;
      for (let round = 0; round < ROUNDS; round++) {
        const cpuBefore = cpuSeconds(traced.pid!);
        entry.runs.push(await load(procs, url, ROUND_SECONDS, headers));
        entry.cpu += cpuSeconds(traced.pid!) - cpuBefore;
      }
      traced.kill('SIGTERM'); // flushes what is still batched
      await new Promise((resolve) => traced.on('exit', resolve));
      entry.spans = sink.exports - exportedBefore;
      tracedRuns[variant] = entry;
    }
    await sink.close();
    const tracedSummary = (variant: TracedVariant) => {
      const { runs, cpu, spans } = tracedRuns[variant];
      const requests = runs.reduce((sum, r) => sum + r.requests, 0);
      return {
        ...summarize(runs),
        ratioToPlain: median(runs.map((r) => r.rps)) / median(proxied.map((r) => r.rps)),
        cpuMsPerRequest: (cpu / requests) * 1000,
        exportRequests: spans,
        requests,
      };
    };

    const upstreamStats = await upstreamSaw();
    const proxiedRequests = proxied.reduce((sum, r) => sum + r.requests, 0);
    const tracedAll = Object.values(tracedRuns).flatMap((entry) => entry.runs);
    const dpopRequests = dpopRuns.reduce((sum, r) => sum + r.requests, 0);
    // What made a run invalid, said by name (a failed round is reported, never hidden). Errors of
    // the yardsticks (direct, floor, nginx) are reported too, but only the BFF's own rows decide.
    const failures = (runs: LoadResult[]) => runs.some((r) => r.non2xx > 0 || r.errors > 0);
    const describe = ([name, runs]: [string, LoadResult[]]) =>
      `${name}: ${runs.reduce((sum, r) => sum + r.non2xx, 0)} non-2xx (${runs.map((r) => JSON.stringify(r.statuses)).join(' ')}), ${runs.reduce((sum, r) => sum + r.errors, 0)} errors`;
    const failedRuns = Object.entries({ proxied, traced: tracedAll, dpop: dpopRuns })
      .filter(([, runs]) => failures(runs))
      .map(describe);
    const yardstickErrors = Object.entries({ direct, floor: floorRuns, nginx: nginxRuns })
      .filter(([, runs]) => failures(runs))
      .map(describe);
    if (failedRuns.length) console.log(`Invalid rounds: ${failedRuns.join('; ')}`);
    if (yardstickErrors.length) console.log(`Yardstick rounds with errors (reported, not disqualifying): ${yardstickErrors.join('; ')}`);
    const invalid =
      failedRuns.length > 0 ||
      upstreamStats.withBearer < proxiedRequests ||
      upstreamStats.withDpop < dpopRequests ||
      tracedRuns.sampled.spans === 0 ||
      tracedRuns.unsampled.spans > 0;

    const summary = {
      mode: smoke ? 'smoke' : 'full',
      valid: !invalid,
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      settings: { connections: CONNECTIONS, roundSeconds: ROUND_SECONDS, rounds: ROUNDS },
      direct: summarize(direct),
      floor: {
        ...summarize(floorRuns),
        ratio: median(floorRuns.map((r) => r.rps)) / median(direct.map((r) => r.rps)),
        cpuMsPerRequest: (floorCpu / floorRuns.reduce((sum, r) => sum + r.requests, 0)) * 1000,
      },
      nginx: nginx
        ? {
            ...summarize(nginxRuns),
            ratio: median(nginxRuns.map((r) => r.rps)) / median(direct.map((r) => r.rps)),
            cpuMsPerRequest: (nginxCpu / nginxRuns.reduce((sum, r) => sum + r.requests, 0)) * 1000,
          }
        : null,
      proxied: summarize(proxied),
      ratio: median(proxied.map((r) => r.rps)) / median(direct.map((r) => r.rps)),
      dpop: {
        ...summarize(dpopRuns),
        ratio: median(dpopRuns.map((r) => r.rps)) / median(direct.map((r) => r.rps)),
        cpuMsPerRequest: (dpopCpu / dpopRequests) * 1000,
      },
      ratioToNginx: nginx ? median(proxied.map((r) => r.rps)) / median(nginxRuns.map((r) => r.rps)) : null,
      bff: { workers, cpuMsPerRequest: (bffCpu / forwarded) * 1000, maxRssMiB: maxRss },
      websocket: { echoes, direct: wsDirect, proxied: wsProxied },
      cache: {
        hitRate: 1 - sessionReads / forwarded,
        sessions: CACHED_SESSIONS,
        entriesInEveryWorker: cachedInEveryWorker,
        maxRssMiB: rssWithCache,
      },
      redis: {
        commandsPerRequest: commands / forwarded,
        roundTripsPerRequest: roundTrips / forwarded,
        keysPerSession: keys.length / SESSIONS_FOR_FOOTPRINT,
        bytesPerSession: bytes / SESSIONS_FOR_FOOTPRINT,
        sessionValueBytes: valueBytes / sessionKeys.length,
      },
      signIn: { perSecond: SIGN_INS / signInSeconds, bffCpuMs: bffCpuPerSignInMs },
      tracing: { sampled: tracedSummary('sampled'), unsampled: tracedSummary('unsampled') },
      admission: { nsPerCall: admissionNs() },
      baseline: baselineBff
        ? {
            ref: BASELINE!,
            ...summarize(baselineRuns),
            ratio: median(baselineRuns.map((r) => r.rps)) / median(direct.map((r) => r.rps)),
            cpuMsPerRequest: (baselineCpu / baselineRuns.reduce((sum, r) => sum + r.requests, 0)) * 1000,
          }
        : null,
      upstreamSaw: upstreamStats,
    };
    baselineBuild?.remove();
    const targets = [
      ['Redis commands per proxied call <= 0.02', summary.redis.commandsPerRequest <= 0.02],
      ['proxied req/s >= 0.5x the nginx reverse proxy', summary.ratioToNginx !== null && summary.ratioToNginx >= 0.5],
      ['proxied req/s >= 0.3x direct', summary.ratio >= 0.3],
      ['proxied p99 <= 10 ms at 50 connections', summary.proxied.p99 <= 10],
      [`BFF RSS <= 120 MiB with ${CACHED_SESSIONS} cached sessions`, summary.cache.maxRssMiB <= 120 && summary.bff.maxRssMiB <= 120],
      ['Redis bytes per session <= 3 KB', summary.redis.bytesPerSession <= 3072],
    ] as const;
    report(summary, targets);
    mkdirSync(`${root}/bench/results`, { recursive: true });
    writeFileSync(
      `${root}/bench/results/${smoke ? 'smoke' : 'latest'}.json`,
      `${JSON.stringify({ ...summary, targets: Object.fromEntries(targets) }, null, 2)}\n`,
    );
    await idp.close();
    if (invalid) process.exitCode = 1;
  } finally {
    procs.stopAll();
    await sleep(500); // let the BFF drain and write its profile
    await redis.stop();
  }
}

type Summary = {
  mode: string;
  valid: boolean;
  machine: { cpus: number; node: string };
  settings: { connections: number; roundSeconds: number; rounds: number };
  direct: { rps: number; p50: number; p99: number };
  proxied: { rps: number; p50: number; p99: number };
  ratio: number;
  dpop: { rps: number; p50: number; p99: number; ratio: number; cpuMsPerRequest: number };
  floor: { rps: number; p50: number; p99: number; ratio: number; cpuMsPerRequest: number };
  nginx: { rps: number; p50: number; p99: number; ratio: number; cpuMsPerRequest: number } | null;
  ratioToNginx: number | null;
  bff: { workers: number; cpuMsPerRequest: number; maxRssMiB: number };
  cache: { hitRate: number; sessions: number; entriesInEveryWorker: number; maxRssMiB: number };
  websocket: { echoes: number; direct: { p50: number; p99: number }; proxied: { p50: number; p99: number } };
  redis: {
    commandsPerRequest: number;
    roundTripsPerRequest: number;
    keysPerSession: number;
    bytesPerSession: number;
    sessionValueBytes: number;
  };
  signIn: { perSecond: number; bffCpuMs: number };
  tracing: Record<
    TracedVariant,
    { rps: number; p50: number; p99: number; ratioToPlain: number; cpuMsPerRequest: number; exportRequests: number }
  >;
  baseline: { ref: string; rps: number; p50: number; p99: number; ratio: number; cpuMsPerRequest: number } | null;
  admission: { nsPerCall: number };
};

/**
 * The admission step alone, in this process: a slot taken and released per call, for 1,000
 * sessions round robin (the proxy does exactly this per call, plus one owner object).
 */
function admissionNs(): number {
  const budget = new Budget({ session: { each: 32, total: 2048 }, address: { each: 32, total: 2048 } });
  const owners = Array.from({ length: 1000 }, () => randomBytes(32).toString('base64url'));
  const calls = 2_000_000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) budget.take({ kind: 'session', key: owners[i % owners.length]! })!.release();
  return Number(process.hrtime.bigint() - started) / calls;
}

function report(s: Summary, targets: ReadonlyArray<readonly [string, boolean]>) {
  const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  const f = (n: number, digits = 1) => n.toFixed(digits);
  console.log(
    `\nBFF benchmark (${s.mode}${s.valid ? '' : ', INVALID: errors or non-2xx responses'}) - ${s.machine.cpus} CPUs, Node ${s.machine.node}, ${s.settings.connections} connections, median of ${s.settings.rounds} x ${s.settings.roundSeconds}s rounds\n`,
  );
  const vsNginx = (rps: number) => (s.nginx ? `${f(rps / s.nginx.rps, 2)}x` : 'n/a');
  console.log(row(['path', 'req/s', 'p50 ms', 'p99 ms', 'vs direct', 'vs nginx']));
  console.log(row(['---', '---', '---', '---', '---', '---']));
  console.log(row(['upstream directly', f(s.direct.rps, 0), f(s.direct.p50), f(s.direct.p99), '1.00x', vsNginx(s.direct.rps)]));
  if (s.nginx)
    console.log(row(['plain nginx reverse proxy', f(s.nginx.rps, 0), f(s.nginx.p50), f(s.nginx.p99), `${f(s.nginx.ratio, 2)}x`, '1.00x']));
  else console.log(row(['plain nginx reverse proxy', 'not installed', '', '', '', '']));
  console.log(
    row([
      'bare Node proxy (floor: GETEX + undici, no checks)',
      f(s.floor.rps, 0),
      f(s.floor.p50),
      f(s.floor.p99),
      `${f(s.floor.ratio, 2)}x`,
      vsNginx(s.floor.rps),
    ]),
  );
  console.log(
    row([
      'GET /api/items through the BFF',
      f(s.proxied.rps, 0),
      f(s.proxied.p50),
      f(s.proxied.p99),
      `${f(s.ratio, 2)}x`,
      vsNginx(s.proxied.rps),
    ]),
  );
  const { sampled, unsampled } = s.tracing;
  console.log(
    row([
      '... with tracing on, every call sampled (OTLP/protobuf)',
      f(sampled.rps, 0),
      f(sampled.p50),
      f(sampled.p99),
      `${f(sampled.rps / s.direct.rps, 2)}x`,
      vsNginx(sampled.rps),
    ]),
  );
  console.log(
    row([
      '... with tracing on, unsampled (traceparent only)',
      f(unsampled.rps, 0),
      f(unsampled.p50),
      f(unsampled.p99),
      `${f(unsampled.rps / s.direct.rps, 2)}x`,
      vsNginx(unsampled.rps),
    ]),
  );
  console.log(
    row([
      '... with DPoP, no tracing (a proof signed per call)',
      f(s.dpop.rps, 0),
      f(s.dpop.p50),
      f(s.dpop.p99),
      `${f(s.dpop.ratio, 2)}x`,
      vsNginx(s.dpop.rps),
    ]),
  );
  if (s.baseline) {
    const b = s.baseline;
    console.log(
      row([`... the same BFF at ${b.ref} (BENCH_BASELINE)`, f(b.rps, 0), f(b.p50), f(b.p99), `${f(b.ratio, 2)}x`, vsNginx(b.rps)]),
    );
  }
  console.log(
    `\nCPU per request: BFF ${f(s.bff.cpuMsPerRequest, 3)} ms, with DPoP ${f(s.dpop.cpuMsPerRequest, 3)} ms, floor ${f(s.floor.cpuMsPerRequest, 3)} ms${s.nginx ? `, nginx ${f(s.nginx.cpuMsPerRequest, 3)} ms` : ''}.`,
  );
  console.log(
    `WebSocket echo round trip (${s.websocket.echoes} messages, one at a time): direct p50 ${f(s.websocket.direct.p50, 0)} µs, p99 ${f(s.websocket.direct.p99, 0)} µs; through the BFF p50 ${f(s.websocket.proxied.p50, 0)} µs, p99 ${f(s.websocket.proxied.p99, 0)} µs (+${f(s.websocket.proxied.p50 - s.websocket.direct.p50, 0)} µs at the median)`,
  );
  console.log(
    `Session cache: hit rate ${f(s.cache.hitRate * 100, 2)}% of proxied calls; with ${s.cache.entriesInEveryWorker} sessions cached in every process max RSS ${f(s.cache.maxRssMiB)} MiB`,
  );
  console.log(
    `BFF (${s.bff.workers} worker${s.bff.workers > 1 ? 's' : ''}): CPU per proxied request ${f(s.bff.cpuMsPerRequest, 3)} ms; max RSS of one process under load ${f(s.bff.maxRssMiB)} MiB`,
  );
  console.log(
    `Redis: ${f(s.redis.commandsPerRequest, 2)} commands and ${f(s.redis.roundTripsPerRequest, 2)} round trips per proxied request; ${f(s.redis.keysPerSession, 1)} keys and ${f(s.redis.bytesPerSession, 0)} bytes per session (session value ${f(s.redis.sessionValueBytes, 0)} bytes)`,
  );
  console.log(
    `Tracing: sampled ${f(sampled.ratioToPlain, 2)}x the plain BFF's req/s, CPU ${f(sampled.cpuMsPerRequest, 3)} ms per request (${sampled.exportRequests} OTLP exports); unsampled ${f(unsampled.ratioToPlain, 2)}x, CPU ${f(unsampled.cpuMsPerRequest, 3)} ms per request (nothing exported)`,
  );
  console.log(
    `Admission step (Budget.take + release, in process): ${f(s.admission.nsPerCall, 0)} ns per call, ${f((s.admission.nsPerCall / 1e6 / s.bff.cpuMsPerRequest) * 100, 2)}% of the BFF's CPU per proxied call`,
  );
  if (s.baseline) {
    const change = (s.bff.cpuMsPerRequest / s.baseline.cpuMsPerRequest - 1) * 100;
    console.log(
      `Baseline ${s.baseline.ref}: CPU per proxied request ${f(s.baseline.cpuMsPerRequest, 3)} ms; this BFF ${change >= 0 ? '+' : ''}${f(change, 1)}% (req/s ${f(s.proxied.rps / s.baseline.rps, 3)}x the baseline's)`,
    );
  }
  console.log(
    `Sign-in: ${f(s.signIn.perSecond)} complete sign-ins/s (BFF + dev provider, sequential); BFF CPU ${f(s.signIn.bffCpuMs, 2)} ms per sign-in`,
  );
  console.log('\nTargets:');
  for (const [name, met] of targets) console.log(`  ${met ? 'met    ' : 'MISSED '} ${name}`);
}

await main();
