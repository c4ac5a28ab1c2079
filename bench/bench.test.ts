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
      timeout: 180_000,
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
    expect(result.redis.commandsPerRequest).toBeLessThan(0.1);
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
  }, 200_000);
});
