/**
 * The processes the bench measures, started on loopback: redis-server, the upstream, the dev
 * provider (in this process, only used to sign in), the production build of the BFF started
 * exactly as `npm run start:bff` starts it, and the yardsticks (the floor and nginx).
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEMO_USERS, startIdp } from '../dev/idp/index.js';
import { loginThroughIdp } from '../dev/idp/test-login.js';
import { TestBrowser } from '../test/support/browser.js';
import { sessionKey } from '../test/support/bff.js';
import { freePort, startRedis } from '../test/support/redis.js';
import { COMPARISON_STACKS, comparisonBuildArgs, comparisonEntry, type ComparisonName, type SignInPaths } from './comparison/stacks.js';
import { CONNECTIONS } from './load.js';
import { findNginx, startNginx } from './nginx.js';
import { children, exited, firstLine, waitFor } from './processes.js';

/** The session-cookie HMAC key of every BFF the bench starts (the bench writes session copies). */
export const BENCH_SESSION_KEY = 'bench-session-key-0123456789-0123456789-0123';
const CLIENT_SECRET = 'bench-client-secret-0123456789-0123456789';
/** Where the kit's sign-in starts, and `GET /bff/user`, which answers 200 only when signed in. */
export const KIT_SIGN_IN: SignInPaths = { login: '/bff/login', signedIn: '/bff/user', headers: { 'x-csrf': '1' } };

/** The session id in the `cookie` header of a signed-in call. */
export const sessionIdOf = (headers: Record<string, string>) => /(?:^|; )bff=([^;]+)/.exec(headers.cookie!)![1]!;

/** Throws unless a GET of `url` with `headers` answers 200 (a row must not measure error pages). */
export async function expectOk(url: string, headers: Record<string, string>): Promise<void> {
  const answer = await fetch(url, { headers });
  if (answer.status !== 200) throw new Error(`${url} answered ${answer.status}: ${await answer.text()}`);
}

/** A BFF process the bench started. */
export interface BffProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Everything started by {@link startStack}; `stop()` ends it all. */
export type Stack = Awaited<ReturnType<typeof startStack>>;

/**
 * Starts Redis, the upstream and the provider, and builds the BFF. `ports` BFF ports are
 * registered with the provider as redirect URIs (a BFF can sign in only on one of them), and one
 * port per comparison sign-in stack (bench/comparison/), each with a client of its own.
 */
export async function startStack(root: string, options: { ports: number; workers: number }) {
  const procs = children(root);
  const redis = await startRedis();
  const upstream = procs.spawn(process.execPath, ['--import', 'tsx', 'bench/upstream.ts']);
  const upstreamUrl = `http://127.0.0.1:${(await firstLine<{ port: number }>(upstream)).port}`;
  const ports = await Promise.all(Array.from({ length: options.ports }, () => freePort()));
  const urls = ports.map((port) => `http://127.0.0.1:${port}`);
  const comparisonNames = Object.keys(COMPARISON_STACKS) as ComparisonName[];
  const comparisonPorts = new Map(await Promise.all(comparisonNames.map(async (name) => [name, await freePort()] as const)));
  const idp = await startIdp({
    clients: [
      {
        client_id: 'bench',
        client_secret: CLIENT_SECRET,
        redirect_uris: urls.map((url) => `${url}/bff/callback`),
        post_logout_redirect_uris: [`${urls[0]}/`],
      },
      ...comparisonNames.map((name) => ({
        client_id: COMPARISON_STACKS[name].clientId,
        client_secret: CLIENT_SECRET,
        redirect_uris: [`http://127.0.0.1:${comparisonPorts.get(name)}${COMPARISON_STACKS[name].callback}`],
        post_logout_redirect_uris: [],
      })),
    ],
    apiAudience: 'urn:bff-kit:bench',
    // PAR advertised but not required: the sign-in rows measure it off and on (OIDC_PAR).
    profile: { par: 'optional', dpopNonce: false, fapi: false },
    // Longer than a run: the bench measures the steady state, and its copies of one session (the
    // cache memory figure) share one refresh token that must never be spent.
    accessTokenTtl: 3600,
  });
  // The production build, as `npm run start:bff` runs it; the comparison stacks compiled beside it.
  const tsc = fileURLToPath(import.meta.resolve('typescript/bin/tsc'));
  const build = procs.spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json']);
  const comparisonBuild = procs.spawn(process.execPath, [tsc, ...comparisonBuildArgs()]);
  if ((await exited(build)) !== 0) throw new Error('building the BFF failed');
  if ((await exited(comparisonBuild)) !== 0) throw new Error('building the comparison sign-in stacks failed');
  // Exactly the command line of `npm run start:bff`, node flags included.
  const startCommand = (JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts[
    'start:bff'
  ]!.split(/\s+/).slice(1);
  const baseEnv = {
    BFF_WORKERS: String(options.workers),
    NODE_ENV: 'production',
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: 'bench',
    OIDC_CLIENT_SECRET: CLIENT_SECRET,
    REDIS_URL: redis.url,
    SESSION_KEYS: BENCH_SESSION_KEY,
    API_ROUTES: `/api=${upstreamUrl}#websocket=true`,
    LOG_LEVEL: 'warn',
    LOGIN_RATE_LIMIT: '0',
    // The main rows sign in without PAR, as they did before the provider advertised it.
    OIDC_PAR: 'false',
    // The load generator drives all its connections with one session (a real user holds a few
    // calls at once): the session's call budget must not be what is measured.
    API_MAX_CALLS_PER_SESSION: String(CONNECTIONS * 2),
  };
  let nextPort = 0;
  const dpopKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

  /**
   * Starts a BFF with the bench's settings plus `env`, on the next registered port (or a free
   * one). `entry` replaces the built entry point (BENCH_BASELINE); `nodeFlags` go first
   * (BENCH_PROFILE's --cpu-prof).
   */
  async function startBff(
    env: Record<string, string> = {},
    { entry, nodeFlags = [] }: { entry?: string; nodeFlags?: string[] } = {},
  ): Promise<BffProcess> {
    const port = nextPort < ports.length ? ports[nextPort++]! : await freePort();
    const url = `http://127.0.0.1:${port}`;
    const args = [...nodeFlags, ...(entry ? [...startCommand.slice(0, -1), entry] : startCommand)];
    const child = procs.spawn(process.execPath, args, { ...baseEnv, PORT: String(port), PUBLIC_URL: url, ...env });
    await waitFor(`${url}/readyz`);
    return { url, pid: child.pid!, stop: async () => void (child.kill('SIGTERM'), await exited(child)) };
  }

  /**
   * A comparison sign-in stack (bench/comparison/) on its registered port, signing in at the
   * provider with the bench's client secret and keeping its sessions in the bench's Redis.
   */
  async function startComparison(name: ComparisonName): Promise<BffProcess> {
    const { clientId } = COMPARISON_STACKS[name];
    const child = procs.spawn(process.execPath, [comparisonEntry(COMPARISON_STACKS[name])], {
      NODE_ENV: 'production',
      PORT: String(comparisonPorts.get(name)),
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: clientId,
      OIDC_CLIENT_SECRET: CLIENT_SECRET,
      REDIS_URL: redis.url,
      COOKIE_SECRET: BENCH_SESSION_KEY,
    });
    const { port } = await firstLine<{ port: number }>(child);
    return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: async () => void (child.kill('SIGTERM'), await exited(child)) };
  }

  /**
   * A browser signed in at `bffUrl` (the kit's BFF or a comparison stack at `paths`) as the first
   * demo user. Throws unless the callback answered a redirect (an error page is no sign-in);
   * {@link expectSignedIn} checks the session itself.
   */
  async function signIn(bffUrl: string, paths: SignInPaths = KIT_SIGN_IN): Promise<TestBrowser> {
    const browser = new TestBrowser();
    const start = await browser.fetch(`${bffUrl}${paths.login}`);
    const callbackUrl = await loginThroughIdp(start.headers.get('location')!, DEMO_USERS[0]!);
    const callback = await browser.fetch(callbackUrl);
    if (callback.status < 300 || callback.status > 399)
      throw new Error(`${new URL(callbackUrl).pathname} answered ${callback.status}: ${await callback.text()}`);
    return browser;
  }

  /** Throws unless `browser` is signed in at `bffUrl`: the signed-in call of `paths` answers 200. */
  async function expectSignedIn(browser: TestBrowser, bffUrl: string, paths: SignInPaths = KIT_SIGN_IN): Promise<void> {
    const answer = await browser.fetch(`${bffUrl}${paths.signedIn}`, { headers: paths.headers });
    if (answer.status !== 200) throw new Error(`${paths.signedIn} after signing in answered ${answer.status}: ${await answer.text()}`);
  }

  /** Headers of a signed-in API call at `bffUrl`, checked with one call that must answer 200. */
  async function apiHeaders(bffUrl: string): Promise<Record<string, string>> {
    const headers = { cookie: (await signIn(bffUrl)).cookieHeader(bffUrl)!, 'x-csrf': '1' };
    await expectOk(`${bffUrl}/api/items`, headers);
    return headers;
  }

  /** The bare Node proxy (bench/floor.ts) reading the session of `headers`. */
  async function startFloor(headers: Record<string, string>, workers: number) {
    const key = sessionKey(sessionIdOf(headers), BENCH_SESSION_KEY);
    const floor = procs.spawn(process.execPath, [
      '--import',
      'tsx',
      'bench/floor.ts',
      String(await freePort()),
      upstreamUrl,
      redis.url,
      key,
      String(workers),
    ]);
    const { port } = await firstLine<{ port: number }>(floor);
    return { url: `http://127.0.0.1:${port}/items`, pid: floor.pid! };
  }

  /** A plain nginx reverse proxy, or undefined when nginx is not installed. */
  async function startNginxProxy() {
    const binary = findNginx();
    if (!binary) return undefined;
    const port = await freePort();
    const nginx = procs.adopt(startNginx(binary, port, upstreamUrl));
    const url = `http://127.0.0.1:${port}/items`;
    await waitFor(url);
    return { url, pid: nginx.pid! };
  }

  return {
    procs,
    redis,
    idp,
    upstreamUrl,
    dpopKey,
    startBff,
    startComparison,
    signIn,
    expectSignedIn,
    apiHeaders,
    startFloor,
    startNginxProxy,
    async stop() {
      await idp.close().catch(() => {});
      procs.stopAll();
      await new Promise((resolve) => setTimeout(resolve, 500)); // let the BFF drain and write its profile
      await redis.stop();
    },
  };
}
