/**
 * The load generator: autocannon in its own process (so its CPU is not the measured process's),
 * and the small one-at-a-time probes (a GET on a fresh connection, WebSocket echo round trips).
 */
import { Agent, get as httpGet } from 'node:http';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { exited, type Children } from './processes.js';

/** Concurrent connections autocannon keeps open in every round. */
export const CONNECTIONS = 50;

/** One autocannon run. */
export interface LoadResult {
  /** Answers by HTTP status, to say what made a round invalid. */
  statuses: Record<string, number>;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
}

/**
 * Loads `url` for `seconds` with CONNECTIONS connections, every request carrying `headers`, and
 * with `sessionsFile` (session ids, one a line) the next session's cookie, round robin.
 */
export async function load(
  procs: Children,
  url: string,
  seconds: number,
  headers: Record<string, string>,
  sessionsFile?: string,
): Promise<LoadResult> {
  const args = sessionsFile
    ? ['--import', 'tsx', 'bench/loadgen.ts', url, String(CONNECTIONS), String(seconds), JSON.stringify(headers), sessionsFile]
    : [
        fileURLToPath(import.meta.resolve('autocannon/autocannon.js')),
        ...['-c', String(CONNECTIONS), '-d', String(seconds), '-j'],
        ...Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}=${value}`]),
        url,
      ];
  const child = procs.spawn(process.execPath, args);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  await exited(child);
  const result = JSON.parse(output) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
    timeouts: number;
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

/** The median of a non-empty list. */
export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Median req/s and latencies of a row's rounds. */
export const summarize = (runs: LoadResult[]) => ({
  rps: median(runs.map((r) => r.rps)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
});

/** One GET on a connection of its own (the BFF's cluster primary hands new connections to its workers in turn). */
export function getOnNewConnection(
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

/** Round-trip times (µs) of `count` small messages sent one after another over a WebSocket. */
export async function echoRoundTrips(url: string, headers: Record<string, string>, count: number): Promise<{ p50: number; p99: number }> {
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
