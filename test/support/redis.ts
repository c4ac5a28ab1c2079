import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis, type RedisOptions } from 'ioredis';
import type { ThrowawayTls } from './tls.js';

/** A free loopback TCP port (the OS picks one, we release it and hand it over). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A free loopback port kept bound until `release()`: ports handed out by the OS are soon reused
 * as the local ports of outgoing connections, so a port that has to be known long before it is
 * listened on (a BFF's, registered at the provider first) stays taken until the moment it is used.
 */
export async function reservePort(): Promise<{ port: number; release(): Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { port, release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Fails with one clear line when redis-server is missing (CONTRIBUTING.md, conventions). */
export function requireRedisServer(): void {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error('redis-server not found on PATH: install it (Debian: apt-get install -y redis-server) to run these tests');
  }
}

export interface RunningRedis {
  url: string;
  port: number;
  /** A client for assertions (counting keys, reading TTLs). */
  client: Redis;
  stop(): Promise<void>;
  /** Kills the server (SIGKILL) and starts it again on the same port later with `restart()`. */
  kill(): Promise<void>;
  restart(): Promise<void>;
}

/**
 * How a managed Redis is reached: only over TLS (the plain port closed) with certificates from
 * `tls`, and/or only as the ACL user `user` (the `default` user switched off).
 */
export interface RedisSecurity {
  tls?: ThrowawayTls;
  user?: { name: string; password: string };
}

/** redis-server arguments for {@link RedisSecurity}, with the server's port. */
function securityArgs(port: number, { tls, user }: RedisSecurity): string[] {
  const listen = tls
    ? [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        tls.certFile,
        '--tls-key-file',
        tls.keyFile,
        '--tls-ca-cert-file',
        tls.caFile,
        '--tls-auth-clients',
        'no',
        '--tls-replication',
        'yes',
      ]
    : ['--port', String(port)];
  const acl = user ? ['--user', 'default', 'off', '--user', user.name, 'on', `>${user.password}`, '~*', '&*', '+@all'] : [];
  return [...listen, ...acl];
}

/** A one-shot client that asks whether a server is up yet: no retries, errors left to the caller. */
function probeClient(port: number, options: RedisOptions): Redis {
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...options });
  probe.on('error', () => {});
  return probe;
}

/** ioredis options that reach a server started with {@link RedisSecurity}. */
export function clientOptions({ tls, user }: RedisSecurity): RedisOptions {
  return { ...(tls ? { tls: { ca: tls.ca } } : {}), ...(user ? { username: user.name, password: user.password } : {}) };
}

/** `user:password@` for a URL, or nothing. */
const userInfo = ({ user }: RedisSecurity) => (user ? `${encodeURIComponent(user.name)}:${encodeURIComponent(user.password)}@` : '');

/** Starts a throwaway redis-server on a free loopback port, without persistence. */
export async function startRedis(extraArgs: string[] = [], security: RedisSecurity = {}): Promise<RunningRedis> {
  requireRedisServer();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bff-redis-'));
  let child: ChildProcess;
  const launch = async () => {
    child = spawn(
      'redis-server',
      [...securityArgs(port, security), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs],
      {
        stdio: 'ignore',
      },
    );
    for (let attempt = 0; attempt < 100; attempt++) {
      const probe = probeClient(port, clientOptions(security));
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        probe.disconnect();
        await sleep(50);
      }
    }
    throw new Error(`redis-server did not start on port ${port}`);
  };
  await launch();
  const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, ...clientOptions(security) });
  client.on('error', () => {});
  const exited = () =>
    new Promise<void>((resolve) =>
      child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
    );
  return {
    url: `${security.tls ? 'rediss' : 'redis'}://${userInfo(security)}127.0.0.1:${port}`,
    port,
    client,
    async stop() {
      client.disconnect();
      child.kill('SIGTERM');
      await exited();
      rmSync(dir, { recursive: true, force: true });
    },
    async kill() {
      child.kill('SIGKILL');
      await exited();
    },
    async restart() {
      await launch();
    },
  };
}

/**
 * A real three-master Redis Cluster on free loopback ports (`--cluster-enabled yes`, joined with
 * `redis-cli --cluster create`), for tests that must prove the key layout works on a cluster.
 */
export async function startRedisCluster(
  security: RedisSecurity = {},
): Promise<{ url: string; nodes: RunningRedis[]; stop(): Promise<void> }> {
  const nodes: RunningRedis[] = [];
  // Over TLS the cluster bus is TLS too, and the nodes announce their TLS ports.
  const tlsCluster = security.tls ? ['--tls-cluster', 'yes'] : [];
  for (let i = 0; i < 3; i++)
    nodes.push(
      await startRedis(
        ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}.conf`, '--cluster-node-timeout', '2000', ...tlsCluster],
        security,
      ),
    );
  const cliSecurity = [
    ...(security.tls ? ['--tls', '--cacert', security.tls.caFile] : []),
    ...(security.user ? ['--user', security.user.name, '--pass', security.user.password, '--no-auth-warning'] : []),
  ];
  const create = spawnSync(
    'redis-cli',
    [...cliSecurity, '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
    { encoding: 'utf8' },
  );
  if (create.error)
    throw new Error('redis-cli not found: install redis-tools (Debian: apt-get install -y redis-server) to run the cluster tests');
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
  for (let attempt = 0; attempt < 100; attempt++) {
    const states = await Promise.all(nodes.map((n) => n.client.cluster('INFO') as Promise<string>));
    if (states.every((info) => info.includes('cluster_state:ok'))) break;
    await sleep(100);
  }
  return {
    url: `${security.tls ? 'rediss' : 'redis'}+cluster://${userInfo(security)}${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    nodes,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

/**
 * A Redis master watched by one Sentinel (`redis-server --sentinel`), both on free loopback
 * ports: the kit's `redis+sentinel://` URL asks the Sentinel where the master is.
 */
export async function startRedisSentinel(
  security: RedisSecurity = {},
): Promise<{ url: string; master: RunningRedis; stop(): Promise<void> }> {
  const master = await startRedis([], security);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bff-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  const { tls, user } = security;
  writeFileSync(
    conf,
    [
      // The Sentinel itself over TLS too; it reaches the master as the ACL user. Clients ask it without credentials.
      ...(tls
        ? [
            'port 0',
            `tls-port ${port}`,
            `tls-cert-file ${tls.certFile}`,
            `tls-key-file ${tls.keyFile}`,
            `tls-ca-cert-file ${tls.caFile}`,
            'tls-auth-clients no',
            'tls-replication yes',
          ]
        : [`port ${port}`]),
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor mymaster 127.0.0.1 ${master.port} 1`,
      ...(user ? [`sentinel auth-user mymaster ${user.name}`, `sentinel auth-pass mymaster ${JSON.stringify(user.password)}`] : []),
      '',
    ].join('\n'),
  );
  const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  for (let attempt = 0; ; attempt++) {
    // A fresh probe per attempt: a TLS client that once failed to connect does not connect again.
    const probe = probeClient(port, tls ? { tls: { ca: tls.ca } } : {});
    try {
      await probe.connect();
      const address = (await probe.call('SENTINEL', 'get-master-addr-by-name', 'mymaster')) as string[] | null;
      if (address?.[1] === String(master.port)) break;
    } catch {
      // not up yet
    } finally {
      probe.disconnect();
    }
    if (attempt > 100) {
      // Nothing outlives a failed start.
      child.kill('SIGKILL');
      await master.stop();
      throw new Error('redis sentinel did not start');
    }
    await sleep(50);
  }
  return {
    url: `${tls ? 'rediss' : 'redis'}+sentinel://${userInfo(security)}127.0.0.1:${port}/mymaster`,
    master,
    async stop() {
      child.kill('SIGTERM');
      await new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
      rmSync(dir, { recursive: true, force: true });
      await master.stop();
    },
  };
}
