import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import type { Middleware } from 'koa';
import { Provider } from 'oidc-provider';
import { createConfiguration, exchangeAudiences, PLAIN_PROFILE, type IdpClient, type IdpSecurityProfile } from './configuration.js';
import { createInteractionRouter } from './interactions.js';
import { plainLogoutForms } from './logout-pages.js';
import { generateSigningKey } from './signing-key.js';
import { createMemoryAdapter } from './memory-adapter.js';
import { startTransmitter, type RunningTransmitter } from '../ssf/transmitter.js';
// demo:start
import { endOtherSessions } from './end-other-sessions.js';
// demo:end
import { attachStats, type IdpStats } from './stats.js';
import { registerTokenExchange } from './token-exchange.js';

export interface IdpOptions {
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /**
   * Issuer URL when it differs from `http://host:port`, e.g. `http://idp.localhost:4001` in
   * docker compose, where the provider listens on 0.0.0.0.
   */
  issuer?: string;
  clients: IdpClient[];
  /** Audience (resource indicator) of the demo API, e.g. `urn:bff-kit:demo-api`. */
  apiAudience: string;
  /** Access token lifetime in seconds. Default 300. */
  accessTokenTtl?: number;
  /** PAR, DPoP nonces and oidc-provider's FAPI 2.0 profile (see IdpSecurityProfile); default: PAR off, no nonce, no FAPI checks. */
  profile?: Partial<IdpSecurityProfile>;
  /**
   * Koa middleware run in front of every provider endpoint. Tests use it to make the provider
   * behave like real products that bend the rules (a slow or differently refusing token
   * endpoint, other metadata), without changing the provider itself.
   */
  front?: Middleware[];
  /** Start an OpenID Shared Signals transmitter beside the provider (dev/ssf), for its `transmitter`. */
  ssf?: boolean;
  /** Where to report provider events worth a developer's eye (server errors always go to stderr). */
  log?: (message: string) => void;
}

export interface RunningIdp {
  /** e.g. `http://127.0.0.1:PORT` */
  issuer: string;
  stats: IdpStats;
  /** The provider's RS256 signing key including its private part, so tests can sign logout tokens. */
  privateJwk: JWK;
  /** The SSF transmitter beside the provider (with `ssf: true`): its SETs speak of this provider's users. */
  transmitter?: RunningTransmitter;
  /** Stops listening and closes every open connection. */
  close(): Promise<void>;
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** The URL host part for an address (IPv6 literals need brackets). */
const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host);

/**
 * Starts the development OpenID Provider. The server listens before the provider exists,
 * because with port 0 the issuer URL is only known once the port is.
 */
export async function startIdp(options: IdpOptions): Promise<RunningIdp> {
  const accessTokenTtl = options.accessTokenTtl ?? 300;
  if (!Number.isSafeInteger(accessTokenTtl) || accessTokenTtl <= 0)
    throw new TypeError(`accessTokenTtl must be a positive whole number of seconds, got ${accessTokenTtl}`);
  const host = options.host ?? '127.0.0.1';
  const server = createServer();
  const port = await listen(server, options.port ?? 0, host);
  let transmitter: RunningTransmitter | undefined;
  try {
    const issuer = options.issuer ?? `http://${urlHost(host)}:${port}`;
    const privateJwk = await generateSigningKey();
    const adapter = createMemoryAdapter();
    transmitter = options.ssf ? await startTransmitter({ host }) : undefined;
    const provider = new Provider(
      issuer,
      createConfiguration({
        adapter,
        clients: options.clients,
        signingKey: privateJwk,
        apiAudience: options.apiAudience,
        accessTokenTtl,
        profile: { ...PLAIN_PROFILE, ...options.profile },
      }),
    );
    // Before the first request: static clients are read on first use, and theirs name this grant.
    registerTokenExchange(provider, { signingKey: privateJwk, audiences: exchangeAudiences(options.apiAudience), accessTokenTtl });
    // Behind docker's port publishing or a dev proxy, trust X-Forwarded-* (dev only).
    provider.proxy = true;
    const log = options.log;
    provider.on('server_error', (_ctx: unknown, error: Error) => console.error('dev idp: server error', error));
    if (log) {
      provider.on('backchannel.error', (_ctx: unknown, error: Error, client: { clientId: string }) =>
        log(`back-channel logout to ${client.clientId} failed: ${error.message}`),
      );
      provider.on('end_session.success', () => log('a user signed out'));
    }

    for (const middleware of options.front ?? []) provider.use(middleware);
    // demo:start
    if (transmitter)
      provider.use(endOtherSessions({ issuer, signingJwk: privateJwk, audience: options.apiAudience, adapter, transmitter }));
    // demo:end
    const stats = attachStats(provider);
    provider.use(plainLogoutForms());
    const interactions = createInteractionRouter(provider, options.apiAudience);
    provider.use(interactions.routes());
    provider.use(interactions.allowedMethods());
    server.on('request', provider.callback());

    return {
      issuer,
      stats,
      privateJwk,
      transmitter,
      async close() {
        await transmitter?.close();
        await close(server);
      },
    };
  } catch (error) {
    await transmitter?.close();
    await close(server);
    throw error;
  }
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // Keep-alive connections would hold close() open until they time out.
    server.closeAllConnections();
  });
}
