import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/**
 * A small OpenID Shared Signals transmitter for development and tests, beside the dev provider:
 * it serves its configuration (`/.well-known/ssf-configuration`) and keys, lets a receiver register
 * a push stream (`configuration_endpoint`, SSF 1.0 §8.1.1), signs Security Event Tokens (RFC 8417)
 * with its own ES256 key and pushes them (RFC 8935). Not a product: one process, streams in memory,
 * and a management call needs only a bearer token (any), as a real transmitter's OAuth check is
 * not what the kit's tests are about.
 */

export const PUSH_METHOD = 'urn:ietf:rfc:8935';
export const CAEP_SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';

/** A registered push stream: where SETs go and what the receiver asked to be sent with them. */
export interface PushStream {
  stream_id: string;
  aud: string;
  endpoint_url: string;
  authorization_header?: string;
  events_requested: string[];
}

export interface RunningTransmitter {
  issuer: string;
  /** Streams registered through the configuration endpoint, oldest first. */
  streams: PushStream[];
  /** The management calls it received (method and path), for tests. */
  calls: string[];
  /** Signs a SET: `iss`, `iat` and `jti` are filled in unless given; `header` overrides the protected header. */
  sign(claims: JWTPayload, options?: { header?: Record<string, unknown>; key?: CryptoKey }): Promise<string>;
  /** Pushes a SET to one receiver (RFC 8935): its answer. */
  push(endpoint: string, set: string, authorization?: string, contentType?: string): Promise<Response>;
  /** Signs a `session-revoked` SET for each stream that asked for it and pushes it; the receivers' statuses. */
  sessionRevoked(subject: Record<string, unknown>): Promise<number[]>;
  close(): Promise<void>;
}

/** An `iss_sub` subject (RFC 9493): the user `sub` at provider `iss`. */
export const issSub = (iss: string, sub: string) => ({ format: 'iss_sub', iss, sub });
/** A `complex` subject naming one provider session (`sid`) of a user. */
export const userSession = (iss: string, sub: string, sid: string) => ({
  format: 'complex',
  user: issSub(iss, sub),
  session: { format: 'opaque', id: sid },
});

export async function startTransmitter(options: { port?: number; host?: string } = {}): Promise<RunningTransmitter> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk: JWK = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const jwks = { keys: [{ ...publicJwk, kid, alg: 'ES256', use: 'sig' }] };
  const streams: PushStream[] = [];
  const calls: string[] = [];
  let issuer = '';

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const readJson = async (req: IncomingMessage): Promise<Record<string, unknown> | undefined> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > 64 * 1024) return undefined;
      chunks.push(chunk);
    }
    try {
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };
  const describe = (stream: PushStream) => ({
    stream_id: stream.stream_id,
    iss: issuer,
    aud: stream.aud,
    delivery: { method: PUSH_METHOD, endpoint_url: stream.endpoint_url },
    events_supported: [CAEP_SESSION_REVOKED],
    events_requested: stream.events_requested,
    events_delivered: stream.events_requested.filter((type) => type === CAEP_SESSION_REVOKED),
  });

  async function streamsEndpoint(req: IncomingMessage, res: ServerResponse) {
    calls.push(`${req.method} /streams`);
    if (!/^Bearer \S+$/.test(req.headers.authorization ?? '')) return json(res, 401, { error: 'invalid_token' });
    if (req.method === 'GET') return json(res, 200, streams.map(describe));
    if (req.method !== 'POST') return json(res, 405, { error: 'method_not_allowed' });
    const body = await readJson(req);
    const delivery = body?.delivery as Record<string, unknown> | undefined;
    if (delivery?.method !== PUSH_METHOD || typeof delivery.endpoint_url !== 'string') return json(res, 400, { error: 'invalid_request' });
    const stream: PushStream = {
      stream_id: randomUUID(),
      aud: typeof body!.aud === 'string' ? body!.aud : new URL(delivery.endpoint_url).origin,
      endpoint_url: delivery.endpoint_url,
      authorization_header: typeof delivery.authorization_header === 'string' ? delivery.authorization_header : undefined,
      events_requested: Array.isArray(body!.events_requested) ? body!.events_requested.filter((e) => typeof e === 'string') : [],
    };
    streams.push(stream);
    return json(res, 201, describe(stream));
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/.well-known/ssf-configuration') {
      return json(res, 200, {
        spec_version: '1_0',
        issuer,
        jwks_uri: `${issuer}/jwks`,
        delivery_methods_supported: [PUSH_METHOD],
        configuration_endpoint: `${issuer}/streams`,
        authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6749' }],
      });
    }
    if (req.method === 'GET' && path === '/jwks') return json(res, 200, jwks);
    if (path === '/streams') return void streamsEndpoint(req, res).catch(() => res.destroy());
    json(res, 404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const sign: RunningTransmitter['sign'] = (claims, signOptions = {}) =>
    new SignJWT({ iss: issuer, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), ...claims })
      .setProtectedHeader({ alg: 'ES256', typ: 'secevent+jwt', kid, ...signOptions.header })
      .sign(signOptions.key ?? privateKey);
  const push: RunningTransmitter['push'] = (endpoint, set, authorization, contentType = 'application/secevent+jwt') =>
    fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': contentType, accept: 'application/json', ...(authorization ? { authorization } : {}) },
      body: set,
      signal: AbortSignal.timeout(10_000),
    });

  return {
    get issuer() {
      return issuer;
    },
    streams,
    calls,
    sign,
    push,
    async sessionRevoked(subject) {
      const targets = streams.filter((stream) => stream.events_requested.includes(CAEP_SESSION_REVOKED));
      return Promise.all(
        targets.map(async (stream) => {
          const set = await sign({
            aud: stream.aud,
            sub_id: subject,
            events: { [CAEP_SESSION_REVOKED]: { event_timestamp: Math.floor(Date.now() / 1000), initiating_entity: 'user' } },
          });
          return (await push(stream.endpoint_url, set, stream.authorization_header)).status;
        }),
      );
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
