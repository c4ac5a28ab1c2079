import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdp, type RunningIdp } from '../dev/idp/index.js';
import { STATIC_FIXTURE } from './support/bff.js';
import { freePort } from './support/redis.js';
import { startRecordingUpstream } from './support/upstream.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const TSX = join(root, 'node_modules/tsx/dist/cli.mjs');

/** Whether anything accepts connections on a loopback port. */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

interface Started {
  child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  stop(): void;
}

/** `npm start` without the web build: `tsx dev/start.ts` in `cwd`, until its banner is out. */
async function start(cwd: string, env: Record<string, string>): Promise<Started> {
  let output = '';
  const child = spawn(process.execPath, [TSX, join(root, 'dev/start.ts')], {
    cwd,
    env: { PATH: process.env.PATH, STATIC_DIR: STATIC_FIXTURE, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: tsx runs the script in a second process, and both must go.
    detached: true,
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = () => {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
  };
  for (let i = 0; i < 200 && !output.includes('Press Ctrl+C to stop') && child.exitCode === null; i++)
    await new Promise((r) => setTimeout(r, 100));
  if (!output.includes('Press Ctrl+C to stop')) {
    stop();
    throw new Error(`dev/start.ts did not start:\n${output}`);
  }
  return { child, output: () => output, stop };
}

describe('npm start', () => {
  let dir: string;
  let teamIdp: RunningIdp;
  let upstream: Awaited<ReturnType<typeof startRecordingUpstream>>;
  let bffPort: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bff-start-'));
    bffPort = await freePort();
    // The team's provider (a real oidc-provider, not the one dev/start.ts would start).
    teamIdp = await startIdp({
      clients: [
        {
          client_id: 'team-app',
          client_secret: 'team-secret-0123456789-0123456789',
          redirect_uris: [`http://localhost:${bffPort}/bff/callback`],
          post_logout_redirect_uris: [`http://localhost:${bffPort}/`],
        },
      ],
      apiAudience: 'urn:team:api',
    });
    upstream = await startRecordingUpstream();
  });
  afterAll(async () => {
    await upstream?.close();
    await teamIdp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('with a .env naming another provider: uses it and that client, starts no dev provider and no demo API, and says so', async () => {
    const [idpPort, apiPort, reportsPort] = await Promise.all([freePort(), freePort(), freePort()]);
    writeFileSync(
      join(dir, '.env'),
      [
        "# the team's settings",
        `OIDC_ISSUER=${teamIdp.issuer}`,
        'OIDC_CLIENT_ID=overridden-by-the-environment',
        'OIDC_CLIENT_SECRET="team-secret-0123456789-0123456789"',
        `API_ROUTES=/api=${upstream.url}/v1`,
        '',
      ].join('\n'),
    );
    const started = await start(dir, {
      PORT: String(bffPort),
      IDP_PORT: String(idpPort),
      API_PORT: String(apiPort),
      REPORTS_PORT: String(reportsPort),
      // A variable already in the environment wins over the file.
      OIDC_CLIENT_ID: 'team-app',
    });
    try {
      const banner = started.output();
      expect(banner).toContain(`OpenID Provider: ${teamIdp.issuer} as client "team-app"`);
      expect(banner).toContain(`/api -> ${upstream.url}/v1`);
      expect(banner).toContain('Sessions:        in memory');
      expect(banner).toContain('Settings from:   .env');
      expect(banner).not.toContain('Demo users');
      expect(banner).not.toMatch(/team-secret/);
      // Neither the dev provider nor a demo API is listening on its port.
      expect(await listening(idpPort)).toBe(false);
      expect(await listening(apiPort)).toBe(false);
      expect(await listening(reportsPort)).toBe(false);
      // The BFF discovered the team's provider: ready, and sign-in goes there with the team's client.
      let ready = 0;
      for (let i = 0; i < 100 && ready !== 200; i++) {
        ready = await fetch(`http://127.0.0.1:${bffPort}/readyz`).then(
          (r) => r.status,
          () => 0,
        );
        if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ready).toBe(200);
      const login = await fetch(`http://127.0.0.1:${bffPort}/bff/login`, { redirect: 'manual' });
      expect(login.status).toBe(302);
      const location = new URL(login.headers.get('location')!);
      expect(location.origin).toBe(new URL(teamIdp.issuer).origin);
      expect(location.searchParams.get('client_id')).toBe('team-app');
    } finally {
      started.stop();
    }
  });

  it('with nothing set is the demo: the dev provider, its demo users and the demo routes', async () => {
    const [port, idpPort, apiPort, reportsPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const empty = mkdtempSync(join(tmpdir(), 'bff-start-demo-'));
    const started = await start(empty, {
      PORT: String(port),
      IDP_PORT: String(idpPort),
      API_PORT: String(apiPort),
      REPORTS_PORT: String(reportsPort),
    });
    try {
      const banner = started.output();
      expect(banner).toContain('Demo users');
      expect(banner).toContain(`OpenID Provider: http://127.0.0.1:${idpPort} (the dev provider`);
      expect(banner).toContain(`/api -> http://127.0.0.1:`);
      // demo:start
      for (const prefix of ['/reports', '/public', '/ledger', '/inner']) expect(banner).toContain(`${prefix} -> http://127.0.0.1:`);
      // demo:end
      expect(banner).not.toContain('Settings from');
      expect(await listening(idpPort)).toBe(true);
    } finally {
      started.stop();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
