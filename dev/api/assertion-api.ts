import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';

export interface AssertionApiOptions {
  host?: string;
  port?: number;
  /** The BFF's `/bff/jwks`: the keys its identity assertions are signed with. */
  jwksUri: string;
  /** The BFF's public origin (`PUBLIC_URL`): the assertions' `iss`. */
  issuer: string;
  /** The `aud` to accept; default this API's own origin (the BFF's default for a route without `audience`). */
  audience?: string;
}

export interface RunningAssertionApi {
  url: string;
  close(): Promise<void>;
}

/**
 * An internal service that trusts the BFF rather than the provider (`token=assertion` routes,
 * docs/token-exchange.md): it verifies the BFF's short JWT against `/bff/jwks` (signature, `iss`,
 * `aud`, `exp`, ES256 or EdDSA only) and answers `GET /me` with the claims it carries. Anything
 * else, or a missing or invalid assertion, is refused.
 */
export async function startAssertionApi(options: AssertionApiOptions): Promise<RunningAssertionApi> {
  const keys = createRemoteJWKSet(new URL(options.jwksUri));
  let audience = options.audience;
  const server = createServer((req, res) => {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    const token = /^Bearer ([A-Za-z0-9._-]+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return answer(401, { error: 'invalid_token', message: 'an identity assertion is required' });
    jwtVerify(token, keys, {
      issuer: options.issuer,
      audience,
      algorithms: ['ES256', 'EdDSA'],
      requiredClaims: ['sub', 'exp', 'iat', 'jti'],
    })
      .then(({ payload }) =>
        new URL(req.url ?? '/', 'http://x').pathname.endsWith('/me') ? answer(200, payload) : answer(404, { error: 'not_found' }),
      )
      .catch((error: unknown) => {
        if (error instanceof errors.JOSEError) answer(401, { error: 'invalid_token', message: 'the identity assertion is invalid' });
        else answer(503, { error: 'unavailable', message: 'the BFF keys cannot be fetched right now' });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`;
  audience ??= url;
  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
