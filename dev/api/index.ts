/**
 * The demo backend API of the kit: a resource server that accepts the dev provider's JWT access
 * tokens and keeps per-user notes in memory. It stands in for the APIs a BFF calls for the SPA.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { bearerAuth, type AuthState } from './bearer-auth.js';
import { createDpopProofVerifier } from './dpop-proof.js';
import { createRequestAuthenticator } from './request-auth.js';
import { attachLiveNotes } from './live.js';
import { createNotesStore } from './notes-store.js';
import { createApiRouter, PUBLIC_PREFIX } from './routes.js';
import { createAccessTokenVerifier } from './token-verifier.js';

export { createAccessTokenVerifier, InvalidTokenError, type AccessTokenClaims, type AccessTokenVerifier } from './token-verifier.js';
export { NOTE_TEXT } from './routes.js';
export { startAssertionApi, type RunningAssertionApi } from './assertion-api.js';

export interface DemoApiOptions {
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Issuer of the access tokens; its discovery document gives the JWKS. */
  issuer: string;
  /** The `aud` every access token must carry. */
  audience: string;
  /**
   * Resource-server DPoP nonces (RFC 9449 §9): proofs must carry the API's current nonce, which
   * rotates this often (ms). Off by default.
   */
  dpopNonceLifetimeMs?: number;
}

export interface RunningDemoApi {
  /** e.g. `http://127.0.0.1:PORT` */
  url: string;
  /** Stops listening and closes every open connection. */
  close(): Promise<void>;
}

/** Starts the demo API. */
export async function startDemoApi(options: DemoApiOptions): Promise<RunningDemoApi> {
  const app = new Koa<AuthState>();
  const notes = createNotesStore();
  const verifier = createAccessTokenVerifier({ issuer: options.issuer, audience: options.audience });
  const authenticate = createRequestAuthenticator(verifier, createDpopProofVerifier({ nonceLifetimeMs: options.dpopNonceLifetimeMs }));
  const router = createApiRouter(notes);
  app.use(async (ctx, next) => {
    // Per-user data: never cached by anything between the API and the browser.
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  app.use(bearerAuth(authenticate, (path) => path.startsWith(PUBLIC_PREFIX)));
  app.use(router.routes());
  app.use(router.allowedMethods());
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = { error: 'not_found', message: 'no such resource' };
  });

  const host = options.host ?? '127.0.0.1';
  const server = createServer(app.callback());
  attachLiveNotes(server, notes, authenticate);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () => close(server),
  };
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // Keep-alive connections (the BFF pools them) would hold close() open until they time out.
    server.closeAllConnections();
  });
}
