import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { SessionRecord } from '../bff/src/session/records.js';
import { loginThroughIdp } from '../dev/idp/test-login.js';
import { startBff, sessionKey, type RunningBff } from './support/bff.js';
import { TestBrowser } from './support/browser.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';
import { freePort, startRedis, type RunningRedis } from './support/redis.js';
import { storedSessions } from './support/stored-sessions.js';
import { ALICE, CLIENT_SECRET, startStack, type Stack } from './support/stack.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const SERVER = 2;
const CLIENT = 3;

/** A W3C traceparent as a browser (or its edge) would send it. */
function browserTraceparent(sampled = true) {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, header: `00-${traceId}-${spanId}-${sampled ? '01' : '00'}` };
}

/**
 * OpenTelemetry traces (docs/observability.md), received by a real OTLP/HTTP receiver:
 * one BFF exports http/protobuf (the default), another http/json, a third has tracing off.
 */
describe('tracing over OTLP/HTTP', () => {
  let redis: RunningRedis;
  let receiver: OtlpReceiver;
  let stack: Stack;
  let jsonBff: RunningBff;
  let plainBff: RunningBff;

  beforeAll(async () => {
    redis = await startRedis();
    receiver = await startOtlpReceiver();
    const [jsonPort, plainPort] = [await freePort(), await freePort()];
    stack = await startStack({
      redisUrl: redis.url,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
      extraOrigins: [`http://127.0.0.1:${jsonPort}`, `http://127.0.0.1:${plainPort}`],
      routes: ({ upstream }) => `/svc=${upstream}/svc#token=client`,
    });
    // The signal's own endpoint wins over the general one, and the JSON encoding.
    jsonBff = await startBff(
      {
        ...stack.env,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'bff-json',
      },
      jsonPort,
    );
    plainBff = await startBff({ ...stack.env, OTEL_EXPORTER_OTLP_ENDPOINT: undefined }, plainPort);
  });
  afterAll(async () => {
    await plainBff?.close();
    await jsonBff?.close();
    await stack?.close();
    await receiver?.close();
    await redis?.stop();
  });

  /** Exports what the BFFs have ended, then the spans received so far. */
  async function exported(): Promise<ReceivedSpan[]> {
    await Promise.all([stack.bff.deps.tracing!.flush(), jsonBff.deps.tracing!.flush()]);
    return receiver.spans;
  }
  const byName = (spans: ReceivedSpan[], name: string) => spans.filter((span) => span.name === name);
  const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) =>
    spans.filter((span) => span.parentSpanId === parent.spanId && span.traceId === parent.traceId);

  it('exports a sign-in: a server span per request named by route, the code exchange and Redis as children', async () => {
    await stack.signIn();
    const spans = (await exported()).filter((span) => span.service === 'bff');
    expect(receiver.paths.every((path) => path === 'POST /v1/traces')).toBe(true);
    expect(spans.every((span) => span.encoding === 'protobuf')).toBe(true);
    const [login] = byName(spans, 'GET /bff/login');
    expect(login).toMatchObject({
      kind: SERVER,
      parentSpanId: '',
      attributes: { 'http.request.method': 'GET', 'http.route': '/bff/login', 'http.response.status_code': 302 },
    });
    const [callback] = byName(spans, 'GET /bff/callback');
    expect(callback).toMatchObject({ kind: SERVER, attributes: { 'http.route': '/bff/callback', 'http.response.status_code': 302 } });
    const children = childrenOf(spans, callback!);
    const exchange = children.find((span) => span.name === 'oidc code_exchange');
    expect(exchange).toMatchObject({ kind: CLIENT, statusCode: 0 });
    // The login transaction is taken once (GETDEL); the session is written (SET) and indexed (SADD, with its TTL in the same write).
    expect(children.map((span) => span.name)).toEqual(expect.arrayContaining(['redis GETDEL', 'redis SET', 'redis SADD']));
    expect(children.find((span) => span.name === 'redis GETDEL')!.attributes).toEqual({
      'db.system.name': 'redis',
      'db.operation.name': 'GETDEL',
    });
  });

  it("makes the browser's traceparent the parent, and sends upstream the traceparent of the exported upstream span", async () => {
    const browser = await stack.signIn();
    const incoming = browserTraceparent();
    const response = await browser.api(`${stack.bff.url}/rec/items/42?code=query-secret`, {
      headers: { traceparent: incoming.header, tracestate: 'vendor=abc' },
    });
    expect(response.status).toBe(200);
    const seen = stack.upstream.requests.at(-1)!;
    expect(seen.url).toBe('/v1/items/42?code=query-secret');
    const sent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(seen.headers.traceparent));
    expect(sent, String(seen.headers.traceparent)).not.toBeNull();
    expect(sent![1]).toBe(incoming.traceId);
    expect(sent![2]).not.toBe(incoming.spanId); // the BFF's span, not the browser's
    expect(seen.headers.tracestate).toBe('vendor=abc');

    const spans = await exported();
    const upstream = spans.find((span) => span.spanId === sent![2]);
    expect(upstream).toMatchObject({
      traceId: incoming.traceId,
      kind: CLIENT,
      name: 'GET /rec',
      attributes: { 'http.route': '/rec', 'http.response.status_code': 200, 'server.address': '127.0.0.1' },
    });
    const server = spans.find((span) => span.spanId === upstream!.parentSpanId);
    expect(server).toMatchObject({
      name: 'GET /rec',
      kind: SERVER,
      parentSpanId: incoming.spanId,
      traceId: incoming.traceId,
      attributes: { 'http.response.status_code': 200 },
    });
  });

  it('traces a WebSocket handshake: a server span by route, the upstream handshake as its child, the browser trace as parent', async () => {
    const browser = await stack.signIn();
    const incoming = browserTraceparent();
    const ws = new WebSocket(`${stack.bff.url.replace('http:', 'ws:')}/api/notes/live?token=query-secret`, {
      headers: { origin: stack.bff.url, cookie: browser.cookieHeader(stack.bff.url)!, traceparent: incoming.header },
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.close();
    const spans = await exported();
    const server = spans.find((span) => span.name === 'GET /api websocket' && span.traceId === incoming.traceId);
    expect(server).toMatchObject({
      kind: SERVER,
      parentSpanId: incoming.spanId,
      attributes: { 'http.route': '/api', 'http.response.status_code': 101 },
    });
    const upstream = childrenOf(spans, server!).find((span) => span.kind === CLIENT && span.name === 'GET /api');
    expect(upstream).toMatchObject({ attributes: { 'http.response.status_code': 101 } });
    expect(JSON.stringify(spans)).not.toContain('query-secret');
  });

  it('exports a refresh as a child of the proxied call that needed it, and the client-credentials grant likewise', async () => {
    const browser = await stack.signIn();
    await storedSessions(redis, stack.bff.url).makeDue(browser);
    const incoming = browserTraceparent();
    expect((await browser.api(`${stack.bff.url}/api/notes`, { headers: { traceparent: incoming.header } })).status).toBe(200);
    const client = browserTraceparent();
    expect((await browser.api(`${stack.bff.url}/svc/ping`, { headers: { traceparent: client.header } })).status).toBe(200);

    const spans = await exported();
    const [server] = spans.filter((span) => span.traceId === incoming.traceId && span.kind === SERVER);
    expect(server).toMatchObject({ name: 'GET /api', parentSpanId: incoming.spanId });
    const names = childrenOf(spans, server!).map((span) => span.name);
    expect(names).toEqual(expect.arrayContaining(['oidc refresh', 'GET /api', 'redis SET']));
    const refresh = childrenOf(spans, server!).find((span) => span.name === 'oidc refresh')!;
    expect(refresh.statusCode).toBe(0);

    const [svc] = spans.filter((span) => span.traceId === client.traceId && span.kind === SERVER);
    expect(childrenOf(spans, svc!).map((span) => span.name)).toEqual(expect.arrayContaining(['oidc client_credentials', 'GET /svc']));
  });

  it('exports revocation on sign-out, and the same spans over http/json', async () => {
    const browser = await stack.signIn(ALICE, jsonBff);
    const { logoutUrl } = (await (await browser.api(`${jsonBff.url}/bff/user`)).json()) as { logoutUrl: string };
    expect((await browser.fetch(`${jsonBff.url}${logoutUrl}`)).status).toBe(302);
    const spans = (await exported()).filter((span) => span.service === 'bff-json');
    expect(spans.length).toBeGreaterThan(0);
    expect(spans.every((span) => span.encoding === 'json')).toBe(true);
    const [callback] = byName(spans, 'GET /bff/callback');
    expect(childrenOf(spans, callback!).map((span) => span.name)).toContain('oidc code_exchange');
    const [logout] = byName(spans, 'GET /bff/logout');
    expect(logout).toMatchObject({ kind: SERVER, attributes: { 'http.response.status_code': 302 } });
    expect(childrenOf(spans, logout!).map((span) => span.name)).toEqual(expect.arrayContaining(['oidc revocation', 'redis DEL']));
  });

  it('follows an unsampled browser trace: the upstream gets the decision (flags 00), nothing is exported for it', async () => {
    const browser = await stack.signIn();
    const incoming = browserTraceparent(false);
    expect((await browser.api(`${stack.bff.url}/rec/quiet`, { headers: { traceparent: incoming.header } })).status).toBe(200);
    expect(String(stack.upstream.requests.at(-1)!.headers.traceparent)).toMatch(new RegExp(`^00-${incoming.traceId}-[0-9a-f]{16}-00$`));
    expect((await exported()).filter((span) => span.traceId === incoming.traceId)).toEqual([]);
  });

  it('leaks no token, code, cookie, secret, raw path or query into any exported span of a full session', async () => {
    const secrets: string[] = [CLIENT_SECRET];
    const browser = new TestBrowser();
    const start = await browser.fetch(`${stack.bff.url}/bff/login?returnTo=/notes`);
    const back = await loginThroughIdp(start.headers.get('location')!, ALICE);
    secrets.push(new URL(back).searchParams.get('code')!, new URL(back).searchParams.get('state')!);
    await browser.fetch(back);
    const sessionId = browser.cookie(stack.bff.url, 'bff')!;
    const key = sessionKey(sessionId);
    const before = stack.bff.deps.sessionTokens.open(JSON.parse((await redis.client.get(key))!) as SessionRecord);
    secrets.push(sessionId, before.accessToken, before.refreshToken!, before.idToken!);
    await browser.api(`${stack.bff.url}/bff/user`);
    await browser.api(`${stack.bff.url}/api/notes?q=private-words`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text":"hi"}',
    });
    await storedSessions(redis, stack.bff.url).makeDue(browser);
    await browser.api(`${stack.bff.url}/rec/accounts/4711/secret-path`);
    const after = stack.bff.deps.sessionTokens.open(JSON.parse((await redis.client.get(key))!) as SessionRecord);
    secrets.push(after.accessToken, after.refreshToken!);
    await browser.api(`${stack.bff.url}/api/nope/../x`);
    await browser.fetch(`${stack.bff.url}/bff/callback?state=bogus&code=${secrets[1]}`);
    await browser.api(`${stack.bff.url}/svc/client`);
    const { logoutUrl } = (await (await browser.api(`${stack.bff.url}/bff/user`)).json()) as { logoutUrl: string };
    secrets.push(new URL(logoutUrl, stack.bff.url).searchParams.get('sid')!);
    expect((await browser.fetch(`${stack.bff.url}${logoutUrl}`)).status).toBe(302);

    const spans = await exported();
    expect(byName(spans, 'oidc refresh').length).toBeGreaterThan(0);
    expect(byName(spans, 'oidc revocation').length).toBeGreaterThan(0);
    const text = JSON.stringify(spans.map(({ name, attributes, statusMessage }) => ({ name, attributes, statusMessage })));
    // The raw bodies too: whatever the decoder might have skipped is scanned as bytes.
    const raw = Buffer.concat(receiver.bodies).toString('latin1');
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(10);
      expect(text).not.toContain(secret);
      expect(raw).not.toContain(secret);
    }
    for (const fragment of ['private-words', '4711', 'secret-path', 'bogus', 'query-secret', '/notes', '?'])
      expect(text).not.toContain(fragment);
    const keys = new Set(spans.flatMap((span) => Object.keys(span.attributes)));
    for (const forbidden of ['url.path', 'url.full', 'url.query', 'http.url', 'http.target', 'db.statement', 'db.query.text'])
      expect(keys.has(forbidden)).toBe(false);
    // Span names come from fixed sets and configured prefixes only.
    for (const span of spans)
      expect(span.name, span.name).toMatch(
        /^((GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS|_OTHER) (\/bff\/[a-z-]+(\/:handle)?|\/bff\/other|\/(api|rec|open|reports|public|svc)( websocket)?|proxy|health|static)|oidc [a-z_]+|redis [A-Z]+)$/,
      );
  });

  it('with tracing off: no traceparent is made, the browser’s passes through untouched, nothing is exported', async () => {
    expect(plainBff.deps.tracing).toBeUndefined();
    const browser = await stack.signIn(ALICE, plainBff);
    expect((await browser.api(`${plainBff.url}/rec/untraced`)).status).toBe(200);
    expect(stack.upstream.requests.at(-1)!.headers.traceparent).toBeUndefined();
    const incoming = browserTraceparent();
    expect((await browser.api(`${plainBff.url}/rec/untraced`, { headers: { traceparent: incoming.header } })).status).toBe(200);
    expect(stack.upstream.requests.at(-1)!.headers.traceparent).toBe(incoming.header);
    expect((await exported()).filter((span) => span.traceId === incoming.traceId)).toEqual([]);
  });
});

/** Static `import ... from` specifiers of a module (not `import()`: that is how the SDK is loaded on demand). */
function staticImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  return [...source.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gms)].map((match) => match[1]!);
}

describe('tracing off costs nothing', () => {
  it('no module the BFF loads statically imports OpenTelemetry: the SDK is only ever imported dynamically, when configured', () => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const queue = [join(root, 'bff/src/main.ts')];
    while (queue.length) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const specifier of staticImports(file)) {
        if (specifier.startsWith('.')) queue.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
        else packages.add(specifier);
      }
    }
    expect(seen.has(join(root, 'bff/src/tracing/tracing.ts'))).toBe(true);
    expect(seen.has(join(root, 'bff/src/proxy/proxy.ts'))).toBe(true);
    expect(seen.has(join(root, 'bff/src/tracing/otel.ts'))).toBe(false);
    expect([...packages].filter((name) => name.startsWith('@opentelemetry/'))).toEqual([]);
    expect(packages.has('koa')).toBe(true); // the walk does find packages
    // ...while the SDK module does import it, and is reached only through import().
    expect(staticImports(join(root, 'bff/src/tracing/otel.ts')).some((name) => name.startsWith('@opentelemetry/sdk-trace-base'))).toBe(
      true,
    );
    expect(readFileSync(join(root, 'bff/src/tracing/tracing.ts'), 'utf8')).toContain("await import('./otel.js')");
  });
});
