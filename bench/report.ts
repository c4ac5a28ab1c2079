/**
 * The bench's result: the JSON written to bench/results (docs/performance.md quotes it), the
 * targets, and the printed table.
 */
import { COMPARISON_STACKS } from './comparison/stacks.js';
import type { TracedVariant } from './rows.js';
import type { ScaleFigures, SessionsFigures } from './scale.js';
import type { SignInFigures } from './sign-in.js';
import type { SocketsFigures } from './sockets.js';

type Latency = { rps: number; p50: number; p99: number };
type Compared = Latency & { ratio: number; cpuMsPerRequest: number };

/** Everything one run measured, as written to bench/results/{latest,smoke}.json. */
export type Summary = {
  mode: string;
  valid: boolean;
  machine: { cpus: number; node: string };
  settings: { connections: number; roundSeconds: number; rounds: number };
  direct: Latency;
  floor: Compared;
  nginx: Compared | null;
  proxied: Latency;
  ratio: number;
  dpop: Compared;
  ratioToNginx: number | null;
  bff: { workers: number; cpuMsPerRequest: number; maxRssMiB: number };
  websocket: { echoes: number; direct: { p50: number; p99: number }; proxied: { p50: number; p99: number } };
  cache: { hitRate: number; sessions: number; entriesInEveryWorker: number; maxRssMiB: number };
  redis: {
    commandsPerRequest: number;
    roundTripsPerRequest: number;
    keysPerSession: number;
    bytesPerSession: number;
    sessionValueBytes: number;
  };
  signIn: { perSecond: number; bffCpuMs: number; redisCommands: number };
  tracing: Record<TracedVariant, Latency & { ratioToPlain: number; cpuMsPerRequest: number; exportRequests: number; requests: number }>;
  admission: { nsPerCall: number };
  baseline: (Compared & { ref: string }) | null;
  /** The "cost as the work grows" groups BENCH_ROWS selected (bench/scale.ts). */
  scaling: {
    sessions?: SessionsFigures[];
    routes?: (ScaleFigures & { routes: number })[];
    workers?: (ScaleFigures & { workers: number })[];
    sockets?: SocketsFigures[];
    signIns?: SignInFigures[];
  };
  upstreamSaw: { withBearer: number; withDpop: number; withoutBearer: number };
};

/** A target by name, and whether this run met it. */
export type Target = readonly [string, boolean];

/** The targets the bench checks (docs/performance.md explains those out of reach here). */
export function targetsOf(s: Summary): Target[] {
  return [
    ['Redis commands per proxied call <= 0.02', s.redis.commandsPerRequest <= 0.02],
    ['proxied req/s >= 0.5x the nginx reverse proxy', s.ratioToNginx !== null && s.ratioToNginx >= 0.5],
    ['proxied req/s >= 0.3x direct', s.ratio >= 0.3],
    ['proxied p99 <= 10 ms at 50 connections', s.proxied.p99 <= 10],
    [`BFF RSS <= 120 MiB with ${s.cache.sessions} cached sessions`, s.cache.maxRssMiB <= 120 && s.bff.maxRssMiB <= 120],
    ['Redis bytes per session <= 3 KB', s.redis.bytesPerSession <= 3072],
  ];
}

const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const f = (n: number, digits = 1) => n.toFixed(digits);

/** Prints the table and the lines under it. */
export function report(s: Summary, targets: readonly Target[]) {
  console.log(
    `\nBFF benchmark (${s.mode}${s.valid ? '' : ', INVALID: errors or non-2xx responses'}) - ${s.machine.cpus} CPUs, Node ${s.machine.node}, ${s.settings.connections} connections, median of ${s.settings.rounds} x ${s.settings.roundSeconds}s rounds\n`,
  );
  const vsNginx = (rps: number) => (s.nginx ? `${f(rps / s.nginx.rps, 2)}x` : 'n/a');
  const line = (label: string, r: Latency, ratio: number) =>
    console.log(row([label, f(r.rps, 0), f(r.p50), f(r.p99), `${f(ratio, 2)}x`, vsNginx(r.rps)]));
  console.log(row(['path', 'req/s', 'p50 ms', 'p99 ms', 'vs direct', 'vs nginx']));
  console.log(row(['---', '---', '---', '---', '---', '---']));
  line('upstream directly', s.direct, 1);
  if (s.nginx)
    console.log(row(['plain nginx reverse proxy', f(s.nginx.rps, 0), f(s.nginx.p50), f(s.nginx.p99), `${f(s.nginx.ratio, 2)}x`, '1.00x']));
  else console.log(row(['plain nginx reverse proxy', 'not installed', '', '', '', '']));
  line('bare Node proxy (floor: GETEX + undici, no checks)', s.floor, s.floor.ratio);
  line('GET /api/items through the BFF', s.proxied, s.ratio);
  const { sampled, unsampled } = s.tracing;
  line('... with tracing on, every call sampled (OTLP/protobuf)', sampled, sampled.rps / s.direct.rps);
  line('... with tracing on, unsampled (traceparent only)', unsampled, unsampled.rps / s.direct.rps);
  line('... with DPoP, no tracing (a proof signed per call)', s.dpop, s.dpop.ratio);
  if (s.baseline) line(`... the same BFF at ${s.baseline.ref} (BENCH_BASELINE)`, s.baseline, s.baseline.ratio);
  console.log(
    `\nCPU per request: BFF ${f(s.bff.cpuMsPerRequest, 3)} ms, with DPoP ${f(s.dpop.cpuMsPerRequest, 3)} ms, floor ${f(s.floor.cpuMsPerRequest, 3)} ms${s.nginx ? `, nginx ${f(s.nginx.cpuMsPerRequest, 3)} ms` : ''}.`,
  );
  const ws = s.websocket;
  console.log(
    `WebSocket echo round trip (${ws.echoes} messages, one at a time): direct p50 ${f(ws.direct.p50, 0)} µs, p99 ${f(ws.direct.p99, 0)} µs; through the BFF p50 ${f(ws.proxied.p50, 0)} µs, p99 ${f(ws.proxied.p99, 0)} µs (+${f(ws.proxied.p50 - ws.direct.p50, 0)} µs at the median)`,
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
    `Sign-in: ${f(s.signIn.perSecond)} complete sign-ins/s (BFF + dev provider, sequential); BFF CPU ${f(s.signIn.bffCpuMs, 2)} ms and ${f(s.signIn.redisCommands, 1)} Redis commands per sign-in`,
  );
  reportScaling(s);
  console.log('\nTargets:');
  for (const [name, met] of targets) console.log(`  ${met ? 'met    ' : 'MISSED '} ${name}`);
}

/** The scaling tables: one line per row, ratios to the group's first row. */
function reportScaling(s: Summary) {
  const { sessions, routes, workers, sockets, signIns } = s.scaling;
  const head = (cells: string[]) => console.log(`\n${row(cells)}\n${row(cells.map(() => '---'))}`);
  if (sessions?.length) {
    head([
      'sessions, round robin',
      'req/s',
      'p99 ms',
      'vs 1 session',
      'Redis commands per call',
      'cache hit rate',
      'CPU ms per call',
      'BFF RSS MiB',
      'Redis bytes per session',
    ]);
    for (const r of sessions) {
      const cells = [
        r.sessions,
        f(r.rps, 0),
        f(r.p99),
        `${f(r.rps / sessions[0]!.rps, 2)}x`,
        f(r.commandsPerRequest, 3),
        `${f(r.cacheHitRate * 100, 1)}%`,
        f(r.cpuMsPerRequest, 3),
        f(r.maxRssMiB),
        f(r.redisBytesPerSession, 0),
      ];
      console.log(row(cells));
    }
  }
  if (routes?.length) {
    head(['API_ROUTES entries (last one called)', 'req/s', 'p99 ms', 'CPU ms per call', 'CPU vs 1 route']);
    for (const r of routes)
      console.log(
        row([
          r.routes,
          f(r.rps, 0),
          f(r.p99),
          f(r.cpuMsPerRequest, 3),
          `${f((r.cpuMsPerRequest / routes[0]!.cpuMsPerRequest - 1) * 100, 1)}%`,
        ]),
      );
  }
  if (workers?.length) {
    head(['BFF_WORKERS', 'req/s', 'p99 ms', 'vs 1 worker', 'CPU ms per call', 'max RSS of one process MiB']);
    for (const r of workers)
      console.log(row([r.workers, f(r.rps, 0), f(r.p99), `${f(r.rps / workers[0]!.rps, 2)}x`, f(r.cpuMsPerRequest, 3), f(r.maxRssMiB)]));
  }
  if (sockets?.length) {
    head(['idle WebSockets (16 per session)', 'BFF KiB per socket', 'BFF file descriptors', 'echo of one more: p50 µs', 'p99 µs']);
    for (const r of sockets) console.log(row([r.sockets, f(r.rssKiBPerSocket), r.fds, f(r.echo.p50, 0), f(r.echo.p99, 0)]));
  }
  if (signIns?.length) {
    head(['sign-ins', 'at once', 'sign-ins/s', 'server CPU ms per sign-in', 'Redis commands per sign-in']);
    const label = (r: SignInFigures) => (r.stack === 'kit' ? `kit (${r.par ? 'PAR' : 'PAR off'})` : COMPARISON_STACKS[r.stack].label);
    for (const r of signIns) console.log(row([label(r), r.parallel, f(r.perSecond), f(r.bffCpuMs, 2), f(r.redisCommands, 1)]));
  }
}
