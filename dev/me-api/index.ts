/**
 * The tiny dev API the kit keeps after `npm run strip-demo`: one resource, `GET /me`, that answers
 * who the access token speaks for. It validates the token exactly as the demo API does (the same
 * verifier: signature by the issuer's JWKS, `iss`, `aud`, `exp`, `typ: at+jwt`; Bearer or DPoP),
 * so it is the smallest honest stand-in for your API: replace it by your own `API_ROUTES`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { bearerAuth, type AuthState } from '../api/bearer-auth.js';
import { createDpopProofVerifier } from '../api/dpop-proof.js';
import { createRequestAuthenticator } from '../api/request-auth.js';
import { createAccessTokenVerifier } from '../api/token-verifier.js';

export interface MeApiOptions {
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Issuer of the access tokens; its discovery document gives the JWKS. */
  issuer: string;
  /** The `aud` every access token must carry. */
  audience: string;
}

/** `GET /me`: the token's subject and the few claims an API usually looks at (never the token). */
export interface MeAnswer {
  sub: string;
  scope: string;
  audience: string;
  /** When the access token expires, epoch seconds. */
  expiresAt: number;
  clientId?: string;
}

export interface RunningMeApi {
  /** e.g. `http://127.0.0.1:PORT` */
  url: string;
  /** Stops listening and closes every open connection. */
  close(): Promise<void>;
}

/** Starts the tiny API. */
export async function startMeApi(options: MeApiOptions): Promise<RunningMeApi> {
  const app = new Koa<AuthState>();
  const verifier = createAccessTokenVerifier({ issuer: options.issuer, audience: options.audience });
  const authenticate = createRequestAuthenticator(verifier, createDpopProofVerifier({}));
  app.use(async (ctx, next) => {
    // Per-user data: never cached by anything between the API and the browser.
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  app.use(bearerAuth(authenticate));
  app.use((ctx) => {
    if (ctx.method === 'GET' && ctx.path === '/me') {
      const { sub, scope, audience, expiresAt, clientId } = ctx.state.auth;
      ctx.body = { sub, scope, audience, expiresAt, clientId } satisfies MeAnswer;
      return;
    }
    ctx.status = 404;
    ctx.body = { error: 'not_found', message: 'no such resource' };
  });

  const host = options.host ?? '127.0.0.1';
  const server = createServer(app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, close: () => close(server) };
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // Keep-alive connections (the BFF pools them) would hold close() open until they time out.
    server.closeAllConnections();
  });
}
