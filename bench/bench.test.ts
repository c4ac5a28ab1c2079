import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('npm run bench (smoke mode)', () => {
  it('runs end to end and writes a complete, valid result (its speed is not judged here)', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 400_000, // a loaded CI machine: smoke rounds are short, but every group starts BFFs of its own
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/GET \/api\/items through the BFF \| \d+/);
    expect(run.stdout).toMatch(/bare Node proxy \(floor[^|]*\| \d+/);
    expect(run.stdout).toMatch(/with DPoP, no tracing \(a proof signed per call\) \| \d+/);
    expect(run.stdout).toMatch(/Targets:/);
    const result = JSON.parse(readFileSync(`${root}bench/results/smoke.json`, 'utf8'));
    expect(result.mode).toBe('smoke');
    expect(result.valid).toBe(true);
    for (const value of [
      result.direct.rps,
      result.floor.rps,
      result.floor.cpuMsPerRequest,
      result.proxied.rps,
      result.proxied.p99,
      result.ratio,
      result.bff.maxRssMiB,
      result.cache.maxRssMiB,
      result.signIn.perSecond,
      result.redis.bytesPerSession,
    ]) {
      expect(Number.isFinite(value) && value > 0).toBe(true);
    }
    // Every proxied request reached the upstream with a bearer token; the session came from the
    // cache for nearly all of them, and the cache filled up for the memory figure.
    expect(result.upstreamSaw.withBearer).toBeGreaterThan(0);
    // The DPoP row's calls reached it as DPoP with a proof, and their CPU cost was measured.
    expect(result.upstreamSaw.withDpop).toBeGreaterThan(0);
    expect(result.dpop.rps > 0 && result.dpop.cpuMsPerRequest > 0).toBe(true);
    // Smoke rounds last a second: on a loaded machine few calls share the fixed heartbeats, so the
    // bound is loose here (the full run's target is 0.02).
    expect(result.redis.commandsPerRequest).toBeLessThan(0.25);
    expect(result.cache.hitRate).toBeGreaterThan(0.9);
    expect(result.cache.entriesInEveryWorker).toBeGreaterThan(result.cache.sessions * 0.9);
    // The nginx row is there when nginx is installed, and reported as skipped otherwise.
    expect(result.nginx === null || result.nginx.rps > 0).toBe(true);
    expect(run.stdout).toMatch(/plain nginx reverse proxy \| (\d+|not installed)/);
    expect(Object.keys(result.targets)).toHaveLength(6);
    // WebSocket echo through the BFF and directly, both measured.
    expect(result.websocket.proxied.p50).toBeGreaterThan(0);
    expect(result.websocket.direct.p50).toBeGreaterThan(0);
    expect(run.stdout).toMatch(/WebSocket echo round trip/);
    // Tracing rows: the same BFF with tracing on, sampled (spans exported) and unsampled (none).
    expect(run.stdout).toMatch(/with tracing on, every call sampled[^|]*\| \d+/);
    expect(run.stdout).toMatch(/with tracing on, unsampled[^|]*\| \d+/);
    expect(result.tracing.sampled.rps).toBeGreaterThan(0);
    expect(result.tracing.sampled.exportRequests).toBeGreaterThan(0);
    expect(result.tracing.unsampled.rps).toBeGreaterThan(0);
    expect(result.tracing.unsampled.exportRequests).toBe(0);
    // Cost as the work grows (BENCH_ROWS, all groups by default): many distinct sessions round
    // robin, many API_ROUTES entries, one and two workers, each row measured and printed.
    expect(result.scaling.sessions.map((r: { sessions: number }) => r.sessions)).toEqual([1, 100]);
    for (const r of result.scaling.sessions) {
      expect(r.rps > 0 && r.cpuMsPerRequest > 0 && r.maxRssMiB > 0 && r.redisBytesPerSession > 0).toBe(true);
      expect(r.cacheHitRate).toBeGreaterThanOrEqual(0);
      expect(r.commandsPerRequest).toBeGreaterThanOrEqual(0);
    }
    expect(result.scaling.routes.map((r: { routes: number }) => r.routes)).toEqual([1, 20]);
    expect(result.scaling.workers.map((r: { workers: number }) => r.workers)).toEqual([1, 2]);
    for (const r of [...result.scaling.routes, ...result.scaling.workers]) expect(r.rps > 0 && r.cpuMsPerRequest > 0).toBe(true);
    expect(run.stdout).toMatch(/\| sessions, round robin \|/);
    expect(run.stdout).toMatch(/\| API_ROUTES entries \(last one called\) \|/);
    expect(run.stdout).toMatch(/\| BFF_WORKERS \|/);
    // Idle WebSockets held open (16 per session), and sign-ins with PAR off and on, 1 and 8 at once,
    // then at the Express and Fastify comparison stacks (each sign-in checked to be signed in).
    expect(result.scaling.sockets).toHaveLength(1);
    const [sockets] = result.scaling.sockets;
    expect(sockets.sockets).toBe(32);
    expect(sockets.fds).toBeGreaterThanOrEqual(2 * 32); // both legs of every socket are held
    expect(sockets.echo.p99).toBeGreaterThan(0);
    expect(
      result.scaling.signIns.map((r: { stack: string; par: boolean; parallel: number }) => `${r.stack}/${r.par}/${r.parallel}`),
    ).toEqual([
      'kit/false/1',
      'kit/false/8',
      'kit/true/1',
      'kit/true/8',
      'express/false/1',
      'express/false/8',
      'fastify/false/1',
      'fastify/false/8',
    ]);
    for (const r of result.scaling.signIns) expect(r.perSecond > 0 && r.bffCpuMs > 0 && r.redisCommands > 0).toBe(true);
    expect(run.stdout).toMatch(/\| idle WebSockets \(16 per session\) \|/);
    expect(run.stdout).toMatch(/\| sign-ins \| at once \|/);
    for (const label of ['kit (PAR off)', 'kit (PAR)', 'Express + express-openid-connect', 'Fastify + @fastify/session + openid-client'])
      for (const lanes of [1, 8]) expect(run.stdout).toContain(`| ${label} | ${lanes} | `);
  }, 420_000);
});
