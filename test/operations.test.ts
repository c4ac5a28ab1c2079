import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBff } from './support/bff.js';
import { startRedis, freePort, type RunningRedis } from './support/redis.js';
import { startStack, TEST_SESSION_KEY_FOR_CHILD, type Stack } from './support/stack.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('operations', () => {
  let redis: RunningRedis;
  let stack: Stack;
  let childPort: number;
  beforeAll(async () => {
    redis = await startRedis();
    childPort = await freePort();
    stack = await startStack({ redisUrl: redis.url, accessTokenTtl: 4, extraOrigins: [`http://127.0.0.1:${childPort}`] });
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  it('exposes Prometheus metrics that move with traffic', async () => {
    const metric = async (pattern: RegExp) => {
      const text = await (await fetch(`${stack.bff.url}/metrics`)).text();
      return [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
    };
    const signInsBefore = await metric(/^bff_sign_ins_total\{result="ok"\} (\d+)/gm);
    const proxiedBefore = await metric(/^bff_http_request_duration_seconds_count\{route="proxy"[^}]*\} (\d+)/gm);
    const upstreamBefore = await metric(/^bff_upstream_duration_seconds_count\{[^}]*\} (\d+)/gm);
    const refreshBefore = await metric(/^bff_token_refreshes_total\{result="ok"\} (\d+)/gm);
    const browser = await stack.signIn();
    await browser.api(`${stack.bff.url}/rec/a`);
    await new Promise((r) => setTimeout(r, 2300)); // past the refresh point of a 4 s token
    await browser.api(`${stack.bff.url}/rec/b`);
    expect(await metric(/^bff_sign_ins_total\{result="ok"\} (\d+)/gm)).toBe(signInsBefore + 1);
    expect(await metric(/^bff_http_request_duration_seconds_count\{route="proxy"[^}]*\} (\d+)/gm)).toBe(proxiedBefore + 2);
    expect(await metric(/^bff_upstream_duration_seconds_count\{[^}]*\} (\d+)/gm)).toBe(upstreamBefore + 2);
    expect(await metric(/^bff_token_refreshes_total\{result="ok"\} (\d+)/gm)).toBe(refreshBefore + 1);
    const text = await (await fetch(`${stack.bff.url}/metrics`)).text();
    expect(text).toMatch(/^process_resident_memory_bytes /m);
    expect(text).toMatch(/^# TYPE bff_backchannel_logouts_total counter/m);
  });

  it('with METRICS_PORT serves /metrics only on that listener (404 on the public port), and nothing else there', async () => {
    const bff = await startBff({ ...stack.env, METRICS_PORT: '0' });
    try {
      const publicAnswer = await fetch(`${bff.url}/metrics`);
      expect(publicAnswer.status).toBe(404);
      expect(await publicAnswer.json()).toMatchObject({ error: 'not_found' });
      expect(bff.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(bff.metricsUrl).not.toBe(bff.url);
      const scrape = await fetch(`${bff.metricsUrl}/metrics`);
      expect(scrape.status).toBe(200);
      expect(await scrape.text()).toMatch(/^bff_ready\{check="store"\} 1$/m);
      for (const path of ['/healthz', '/bff/user', '/metrics/x', '/'])
        expect((await fetch(`${bff.metricsUrl}${path}`)).status, path).toBe(404);
      expect((await fetch(`${bff.url}/healthz`)).status).toBe(200);
    } finally {
      await bff.close();
    }
  });

  it('warns at start in production that /metrics is public unless METRICS_PORT is set', async () => {
    const production = { ...stack.env, NODE_ENV: 'production' };
    const warned = (logs: string[]) => logs.some((line) => line.includes('"level":40') && line.includes('METRICS_PORT is not set'));
    const cases: [string, Record<string, string | undefined>, boolean][] = [
      ['production', production, true],
      ['production with METRICS_PORT', { ...production, METRICS_PORT: '0' }, false],
      ['development', stack.env, false],
    ];
    for (const [name, env, expected] of cases) {
      const bff = await startBff(env);
      try {
        expect(warned(bff.logs), name).toBe(expected);
      } finally {
        await bff.close();
      }
    }
  });

  it('keeps metric labels bounded: unknown /bff/ paths share one label', async () => {
    const probe = `/bff/no-such-${Date.now()}`;
    expect((await fetch(`${stack.bff.url}${probe}`)).status).toBe(404);
    const text = await (await fetch(`${stack.bff.url}/metrics`)).text();
    expect(text).toMatch(/^bff_http_request_duration_seconds_count\{route="\/bff\/other",method="GET",status="404"\} [1-9]/m);
    expect(text).not.toContain(probe);
  });

  it('echoes a well-formed X-Request-Id and forwards it upstream, replacing a malformed one', async () => {
    const browser = await stack.signIn();
    const response = await browser.api(`${stack.bff.url}/rec/id`, { headers: { 'x-request-id': 'trace-123.abc' } });
    expect(response.headers.get('x-request-id')).toBe('trace-123.abc');
    expect(stack.upstream.requests.at(-1)!.headers['x-request-id']).toBe('trace-123.abc');
    const bad = await browser.api(`${stack.bff.url}/rec/id`, { headers: { 'x-request-id': 'bad id <script>' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('finishes an in-flight proxied request on SIGTERM, then exits 0', async () => {
    const browser = await stack.signIn();
    const child = spawn(process.execPath, ['--import', 'tsx', 'bff/src/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        ...stack.env,
        PORT: String(childPort),
        PUBLIC_URL: `http://127.0.0.1:${childPort}`,
        SESSION_KEYS: TEST_SESSION_KEY_FOR_CHILD,
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    try {
      let ready = 0;
      for (let i = 0; i < 100 && ready !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        ready = await fetch(`http://127.0.0.1:${childPort}/readyz`).then(
          (r) => r.status,
          () => 0,
        );
      }
      expect(ready).toBe(200);
      const slow = fetch(`http://127.0.0.1:${childPort}/rec/slow?ms=1500`, {
        headers: { 'x-csrf': '1', cookie: browser.cookieHeader(stack.bff.url)! },
      });
      await new Promise((r) => setTimeout(r, 400));
      child.kill('SIGTERM');
      const response = await slow;
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ slow: true });
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      await expect(fetch(`http://127.0.0.1:${childPort}/healthz`)).rejects.toThrow();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
