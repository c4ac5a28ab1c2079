import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginThroughIdp } from '../dev/idp/test-login.js';
import { sessionKey } from './support/bff.js';
import { TestBrowser } from './support/browser.js';
import { clientOptions, freePort, startRedisCluster, startRedisSentinel, type RedisSecurity } from './support/redis.js';
import { ALICE, startStack, TEST_SESSION_KEY_FOR_CHILD, type Stack } from './support/stack.js';
import { throwawayTls, type ThrowawayTls } from './support/tls.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Managed Redis as it is sold: TLS only (no plain port), an ACL user (the `default` user off),
 * behind Sentinel or as a Cluster. The BFF runs as its own process so that NODE_EXTRA_CA_CERTS,
 * read by Node at start-up, makes it trust the test's throwaway CA, as a deployment would.
 */
describe('REDIS_URL with TLS and an ACL user (rediss+sentinel://, rediss+cluster://)', () => {
  let tls: ThrowawayTls;
  let security: RedisSecurity;
  let sentinel: Awaited<ReturnType<typeof startRedisSentinel>>;
  let cluster: Awaited<ReturnType<typeof startRedisCluster>>;
  let stack: Stack;
  let ports: number[];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    tls = throwawayTls();
    security = { tls, user: { name: 'bff-app', password: 'acl pass:with@odd/chars' } };
    ports = [await freePort(), await freePort()];
    // Each assigned once it is up, and all settled before a failure is reported: afterAll stops whatever started.
    const started = await Promise.allSettled([
      startRedisSentinel(security).then((started) => (sentinel = started)),
      startRedisCluster(security).then((started) => (cluster = started)),
      startStack({ extraOrigins: ports.map((port) => `http://127.0.0.1:${port}`) }).then((started) => (stack = started)),
    ]);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await stack?.close();
    await Promise.all([sentinel?.stop(), cluster?.stop()]);
    tls?.remove();
  });

  /** The BFF as its own process on `port` with `redisUrl`, trusting the CA; resolves once /readyz is 200. */
  async function startChildBff(port: number, redisUrl: string): Promise<string> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bff/src/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        ...stack.env,
        PORT: String(port),
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        SESSION_KEYS: TEST_SESSION_KEY_FOR_CHILD,
        REDIS_URL: redisUrl,
        NODE_EXTRA_CA_CERTS: tls.caFile,
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    children.push(child);
    const url = `http://127.0.0.1:${port}`;
    let ready = 0;
    for (let i = 0; i < 150 && ready !== 200 && child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ready = await fetch(`${url}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
    }
    expect(ready).toBe(200);
    return url;
  }

  /** Signs Alice in through `bff`; the session cookie's value. */
  async function signIn(bff: string): Promise<string> {
    const browser = new TestBrowser();
    // Ready means sign-in works: no 503 right after /readyz (a Cluster still running its own check
    // once answered it while every master answered PING).
    const start = await browser.fetch(`${bff}/bff/login`);
    expect(start.status, start.status === 302 ? '' : await start.text()).toBe(302);
    const done = await browser.fetch(await loginThroughIdp(start.headers.get('location')!, ALICE));
    expect(done.status).toBe(302);
    expect((await browser.api(`${bff}/bff/user`)).status).toBe(200);
    return browser.cookie(bff, 'bff')!;
  }

  it('rediss+sentinel://user:pass@…/mymaster: the BFF finds the master over TLS as the ACL user and keeps sessions there', async () => {
    expect(sentinel.url).toMatch(/^rediss\+sentinel:\/\/bff-app:[^@]+@127\.0\.0\.1:\d+\/mymaster$/);
    const bff = await startChildBff(ports[0]!, sentinel.url);
    const id = await signIn(bff);
    expect(await sentinel.master.client.exists(sessionKey(id))).toBe(1);
  });

  it('rediss+cluster://user:pass@h1,h2,h3: the BFF joins the cluster over TLS as the ACL user and keeps sessions there', async () => {
    expect(cluster.url).toMatch(/^rediss\+cluster:\/\/bff-app:[^@]+@127\.0\.0\.1:\d+,/);
    const bff = await startChildBff(ports[1]!, cluster.url);
    const id = await signIn(bff);
    const reader = new Cluster([{ host: '127.0.0.1', port: cluster.nodes[0]!.port }], { redisOptions: clientOptions(security) });
    reader.on('error', () => undefined);
    try {
      expect(await reader.exists(sessionKey(id))).toBe(1);
    } finally {
      reader.disconnect();
    }
  });

  it('verifies the certificate: a process that does not trust the CA does not connect', () => {
    // A process started without NODE_EXTRA_CA_CERTS (a child, so the refused handshakes' late
    // socket errors stay out of this test runner).
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const probe = spawnSync(process.execPath, ['--import', 'tsx', 'test/fixtures/redis-tls-probe.ts'], {
      env: { ...env, REDIS_URL: cluster.url },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(probe.stdout).toMatch(/^error: .*certificate/im);
  });
});
