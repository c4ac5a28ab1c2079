import { connect } from 'node:net';
import { generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { issSub, startTransmitter, userSession, type RunningTransmitter } from '../dev/ssf/transmitter.js';
import { registerStream } from '../bff/src/ssf/stream.js';
import { startBff, startupClaimKey } from './support/bff.js';
import type { TestBrowser } from './support/browser.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { ALICE, BOB, startStack, type Stack } from './support/stack.js';
import { storedSessions } from './support/stored-sessions.js';
import { startWebSocketUpstream } from './support/ws-upstream.js';

/**
 * Shared Signals (CAEP/RISC) through `POST /bff/ssf`, with a real transmitter in the test process
 * (dev/ssf), two BFF instances on one Redis and the real dev provider: every session-ending event
 * ends the subject's sessions on every instance and closes their sockets; every refusal keeps them.
 */
const PUSH_TOKEN = 'ssf-push-token-for-tests-0123456789abcdef';
const AUDIENCE = 'urn:bff-kit:test-receiver';
const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';
const SESSION_ENDING = [
  `${CAEP}session-revoked`,
  `${CAEP}credential-change`,
  `${RISC}account-disabled`,
  `${RISC}account-purged`,
  `${RISC}sessions-revoked`,
];
const BODY_TIMEOUT_MS = 1000;

describe('Shared Signals: POST /bff/ssf (two instances)', () => {
  let redis: RunningRedis;
  let transmitter: RunningTransmitter;
  let upstream: Awaited<ReturnType<typeof startWebSocketUpstream>>;
  let stack: Stack;
  let issuer: string;

  beforeAll(async () => {
    redis = await startRedis();
    transmitter = await startTransmitter();
    upstream = await startWebSocketUpstream();
    stack = await startStack({
      redisUrl: redis.url,
      instances: 2,
      routes: () => `/ws=${upstream.url}/v1#websocket=true`,
      env: {
        SSF_ISSUER: transmitter.issuer,
        SSF_PUSH_TOKEN: PUSH_TOKEN,
        SSF_AUDIENCE: AUDIENCE,
        SSF_STREAM: 'auto',
        TRUST_PROXY: '1',
        API_BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS),
      },
    });
    issuer = stack.idp.issuer;
  });
  afterAll(async () => {
    await stack?.close();
    await upstream?.close();
    await transmitter?.close();
    await redis?.stop();
  });

  const ssf = (instance: number) => `${stack.bffs[instance]!.url}/bff/ssf`;
  const bearer = `Bearer ${PUSH_TOKEN}`;
  /** A SET as the transmitter signs it, about `subject`, for this BFF's audience. */
  const setFor = (event: string, subject: object, claims: Record<string, unknown> = {}) =>
    transmitter.sign({
      aud: AUDIENCE,
      sub_id: subject,
      events: { [event]: { event_timestamp: Math.floor(Date.now() / 1000) } },
      ...claims,
    });
  const userOn = (browser: TestBrowser, instance: number) =>
    fetch(`${stack.bffs[instance]!.url}/bff/user`, { headers: { 'x-csrf': '1', cookie: browser.cookieHeader(stack.bff.url)! } });
  const alive = async (browser: TestBrowser) => (await userOn(browser, 0)).status === 200 && (await userOn(browser, 1)).status === 200;
  const signedOut = async (browser: TestBrowser) => (await userOn(browser, 0)).status === 401 && (await userOn(browser, 1)).status === 401;

  it('registers its push stream at start (SSF_STREAM=auto), once per endpoint', async () => {
    const mine = transmitter.streams.filter((stream) => stream.endpoint_url === ssf(0));
    expect(mine).toEqual([
      expect.objectContaining({ aud: AUDIENCE, authorization_header: bearer, events_requested: expect.arrayContaining(SESSION_ENDING) }),
    ]);
    // A restart a minute later (the start-up claim gone) finds it and makes no other.
    await redis.client.del(startupClaimKey(`ssf-stream:${ssf(0)}`));
    expect(await registerStream(stack.bff.deps)).toBe('exists');
    expect(transmitter.streams.filter((stream) => stream.endpoint_url === ssf(0))).toHaveLength(1);
  });

  it('leaves the registration to one of the instances (or workers) that start together behind one PUBLIC_URL', async () => {
    const publicUrl = new URL('http://127.0.0.1:9/');
    const behind = (instance: number) => ({ ...stack.bffs[instance]!.deps, config: { ...stack.bffs[instance]!.deps.config, publicUrl } });
    const outcomes = await Promise.all([registerStream(behind(0)), registerStream(behind(1))]);
    expect(outcomes.sort()).toEqual(['claimed elsewhere', 'created']);
    expect(transmitter.streams.filter((stream) => stream.endpoint_url === 'http://127.0.0.1:9/bff/ssf')).toHaveLength(1);
  });

  it.each(SESSION_ENDING)('%s ends every session of the iss_sub subject on both instances, and no one else’s', async (event) => {
    const [first, second, bob] = [await stack.signIn(), await stack.signIn(), await stack.signIn(BOB)];
    expect(await alive(first)).toBe(true);
    const response = await transmitter.push(ssf(1), await setFor(event, issSub(issuer, ALICE.sub)), bearer);
    expect(response.status).toBe(202);
    expect(await signedOut(first)).toBe(true);
    expect(await signedOut(second)).toBe(true);
    expect(await alive(bob)).toBe(true);
  });

  it('ends only the provider session a complex subject names (user + session = sid)', async () => {
    const [named, other] = [await stack.signIn(), await stack.signIn()];
    const sid = (await storedSessions(redis, stack.bff.url).record(named))!.opSid!;
    expect(sid).toBeTruthy();
    const set = await setFor(`${CAEP}session-revoked`, userSession(issuer, ALICE.sub, sid));
    expect((await transmitter.push(ssf(0), set, bearer)).status).toBe(202);
    expect(await signedOut(named)).toBe(true);
    expect(await alive(other)).toBe(true);
  });

  it('accepts the event’s own subject (CAEP before SSF 1.0) as well as sub_id', async () => {
    const browser = await stack.signIn();
    const set = await transmitter.sign({
      aud: [AUDIENCE, 'urn:someone:else'],
      events: { [`${CAEP}session-revoked`]: { subject: issSub(issuer, ALICE.sub), event_timestamp: 1 } },
    });
    expect((await transmitter.push(ssf(0), set, bearer)).status).toBe(202);
    expect(await signedOut(browser)).toBe(true);
  });

  it('closes the subject’s sockets on the other instance within 5 s (4401)', async () => {
    const browser = await stack.signIn();
    const ws = new WebSocket(`${stack.bffs[0]!.url.replace('http:', 'ws:')}/ws/echo`, {
      headers: { origin: stack.bffs[0]!.url, cookie: browser.cookieHeader(stack.bff.url)! },
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    const started = performance.now();
    expect((await transmitter.push(ssf(1), await setFor(`${RISC}account-disabled`, issSub(issuer, ALICE.sub)), bearer)).status).toBe(202);
    expect(await closed).toBe(4401);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('answers 202 to an unknown event type, or a subject of another issuer or format, and ends nothing', async () => {
    const browser = await stack.signIn();
    const cases = [
      await setFor('https://schemas.openid.net/secevent/ssf/event-type/verification', issSub(issuer, ALICE.sub)),
      await setFor(`${CAEP}token-claims-change`, issSub(issuer, ALICE.sub)),
      await setFor(`${CAEP}session-revoked`, issSub('https://other.example.com', ALICE.sub)),
      await setFor(`${CAEP}session-revoked`, { format: 'email', email: 'alice@example.com' }),
      await setFor(`${CAEP}session-revoked`, { format: 'complex', user: issSub(issuer, ALICE.sub), session: { format: 'uri', uri: 'x' } }),
    ];
    for (const set of cases) expect((await transmitter.push(ssf(0), set, bearer)).status).toBe(202);
    expect(await alive(browser)).toBe(true);
  });

  describe('refusals, each leaving the session alone', () => {
    let browser: TestBrowser;
    beforeAll(async () => {
      browser = await stack.signIn();
    });
    const revoke = (claims: Record<string, unknown> = {}) => setFor(`${CAEP}session-revoked`, issSub(issuer, ALICE.sub), claims);
    const refused = async (response: Response, status: number, err: string) => {
      expect(response.status).toBe(status);
      expect(await response.json()).toEqual({ err, description: expect.any(String) });
      expect(await alive(browser)).toBe(true);
    };

    it('401 without the push token, or with another one', async () => {
      const set = await revoke();
      for (const authorization of [undefined, 'Bearer wrong-token', `Basic ${PUSH_TOKEN}`, `Bearer ${PUSH_TOKEN}x`, PUSH_TOKEN]) {
        const response = await transmitter.push(ssf(0), set, authorization);
        expect(response.headers.get('www-authenticate')).toBe('Bearer');
        await refused(response, 401, 'authentication_failed');
      }
    });

    it('400 invalid_request for the wrong content type', async () => {
      await refused(await transmitter.push(ssf(0), await revoke(), bearer, 'application/jwt'), 400, 'invalid_request');
      await refused(await transmitter.push(ssf(0), await revoke(), bearer, 'application/json'), 400, 'invalid_request');
    });

    it('400 invalid_request for a bad signature, a wrong iss, aud or typ, a stale or future iat, no jti, no JWT', async () => {
      const { privateKey: stranger } = await generateKeyPair('ES256');
      const now = Math.floor(Date.now() / 1000);
      const bad = [
        await revoke().then((set) => set.slice(0, -4) + (set.endsWith('AAAA') ? 'BBBB' : 'AAAA')),
        await transmitter.sign(
          { aud: AUDIENCE, sub_id: issSub(issuer, ALICE.sub), events: { [`${CAEP}session-revoked`]: {} } },
          { key: stranger },
        ),
        await revoke({ iss: 'https://evil.example.com' }),
        await revoke({ aud: 'urn:another:receiver' }),
        await transmitter.sign(
          { aud: AUDIENCE, sub_id: issSub(issuer, ALICE.sub), events: { [`${CAEP}session-revoked`]: {} } },
          { header: { typ: 'JWT' } },
        ),
        await revoke({ iat: now - 3600 }),
        await revoke({ iat: now + 3600 }),
        await revoke({ jti: undefined }),
        'not-a-jwt',
      ];
      for (const set of bad) await refused(await transmitter.push(ssf(0), set, bearer), 400, 'invalid_request');
    });

    it('400 invalid_request for a replayed jti, on the other instance too', async () => {
      const other = await stack.signIn(BOB);
      const set = await setFor(`${CAEP}session-revoked`, issSub(issuer, BOB.sub));
      expect((await transmitter.push(ssf(0), set, bearer)).status).toBe(202);
      expect(await signedOut(other)).toBe(true);
      const again = await stack.signIn(BOB);
      const replayed = await transmitter.push(ssf(1), set, bearer);
      expect(replayed.status).toBe(400);
      expect(await replayed.json()).toEqual({ err: 'invalid_request', description: 'The SET was already received (jti).' });
      expect(await alive(again)).toBe(true);
    });

    it('413 for a body above 64 KiB, declared or streamed', async () => {
      const big = 'a'.repeat(65 * 1024);
      expect((await transmitter.push(ssf(0), big, bearer)).status).toBe(413);
      const streamed = await fetch(ssf(0), {
        method: 'POST',
        headers: { 'content-type': 'application/secevent+jwt', authorization: bearer },
        body: new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(big));
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      expect(streamed.status).toBe(413);
      expect(await alive(browser)).toBe(true);
    });
  });

  it('one caller flooding /bff/ssf with junk and held-open bodies leaves other callers working', async () => {
    const victim = await stack.signIn();
    const { hostname, port } = new URL(stack.bffs[0]!.url);
    /** A delivery from the attacker's address that sends its headers and one byte, then nothing: its status line. */
    const trickle = () =>
      new Promise<number>((resolve) => {
        const socket = connect(Number(port), hostname, () => {
          socket.write(
            `POST /bff/ssf HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: ${bearer}\r\nX-Forwarded-For: 10.9.9.9\r\n` +
              'Content-Type: application/secevent+jwt\r\nContent-Length: 500\r\n\r\ne',
          );
        });
        let answer = '';
        socket.on('data', (chunk: Buffer) => {
          answer += chunk.toString('latin1');
          if (answer.includes('\r\n')) {
            resolve(Number(answer.split(' ')[1]));
            socket.destroy();
          }
        });
        socket.on('error', () => resolve(0));
      });
    const held = Array.from({ length: 20 }, trickle);
    const junk = Array.from({ length: 100 }, (_, i) =>
      fetch(ssf(0), {
        method: 'POST',
        headers: { 'content-type': 'application/secevent+jwt', 'x-forwarded-for': '10.9.9.9', ...(i % 2 ? { authorization: bearer } : {}) },
        body: 'junk.junk.junk',
      }).then((response) => response.status),
    );
    // Meanwhile: the real transmitter (another address) is heard, and users' calls answer.
    const started = performance.now();
    expect((await userOn(victim, 0)).status).toBe(200);
    const set = await setFor(`${CAEP}session-revoked`, issSub(issuer, ALICE.sub));
    const heard = await fetch(ssf(0), {
      method: 'POST',
      headers: { 'content-type': 'application/secevent+jwt', authorization: bearer, 'x-forwarded-for': '10.1.1.1' },
      body: set,
    });
    expect(heard.status).toBe(202);
    expect(performance.now() - started).toBeLessThan(BODY_TIMEOUT_MS);
    expect(await signedOut(victim)).toBe(true);
    const statuses = await Promise.all(held);
    // Four deliveries per address at once: the rest are refused at once, the four cut at the deadline.
    expect(statuses.filter((status) => status === 408)).toHaveLength(4);
    expect(statuses.filter((status) => status === 429)).toHaveLength(16);
    const junkStatuses = await Promise.all(junk);
    expect(junkStatuses.every((status) => [400, 401, 429].includes(status))).toBe(true);
    expect(junkStatuses.filter((status) => status === 401)).toHaveLength(50);
  });

  it('answers 503 (the transmitter retries), not 400, while the transmitter’s configuration cannot be fetched', async () => {
    const unreachable = await startBff({ ...stack.env, SSF_ISSUER: 'http://127.0.0.1:1', SSF_STREAM: 'off' });
    try {
      const set = await setFor(`${CAEP}session-revoked`, issSub(issuer, ALICE.sub));
      const response = await transmitter.push(`${unreachable.url}/bff/ssf`, set, bearer);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ error: 'unavailable' });
    } finally {
      await unreachable.close();
    }
  });

  it('has no /bff/ssf without SSF_ISSUER', async () => {
    const env = Object.fromEntries(Object.entries(stack.env).filter(([name]) => !name.startsWith('SSF_')));
    const plain = await startBff(env);
    try {
      const response = await transmitter.push(
        `${plain.url}/bff/ssf`,
        await setFor(`${CAEP}session-revoked`, issSub(issuer, ALICE.sub)),
        bearer,
      );
      expect(response.status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
