import * as client from 'openid-client';
import type { Config } from '../config.js';
import { describeError, unavailable } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * Holds the openid-client Configuration once discovery succeeded. Discovery retries with
 * exponential backoff while the provider is unreachable: the BFF starts anyway, `/readyz`
 * answers 503, and sign-in works as soon as the provider answers, without a restart.
 */
export class OidcClient {
  #config: client.Configuration | undefined;
  #revocation: client.Configuration | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #firstAttempt: Promise<void> | undefined;

  constructor(
    private readonly settings: ClientSettings,
    private readonly log: Logger,
    private readonly backoff = { initialMs: 250, maxMs: 10_000 },
  ) {}

  /** True once provider metadata is loaded. */
  get ready(): boolean {
    return this.#config !== undefined;
  }

  /** The configuration handle; throws a 503 HttpError while discovery has not succeeded. */
  get configuration(): client.Configuration {
    if (!this.#config) throw unavailable('The sign-in service is not reachable yet. Please try again shortly.');
    return this.#config;
  }

  /** The handle for token revocation (RFC 7009), with the client authentication the provider takes there. */
  get revocation(): client.Configuration {
    if (!this.#revocation) return this.configuration; // throws the 503 while discovery has not succeeded
    return this.#revocation;
  }

  /** Starts discovery in the background; the returned promise settles after the first attempt. */
  start(): Promise<void> {
    this.#firstAttempt ??= this.#attempt(this.backoff.initialMs);
    return this.#firstAttempt;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #attempt(delayMs: number): Promise<void> {
    if (this.#stopped) return;
    try {
      const configuration = await discover(this.settings);
      this.#revocation = revocationConfiguration(this.settings, configuration);
      this.#config = configuration;
      this.log.info({ issuer: this.settings.issuer.href }, 'provider metadata loaded');
    } catch (error) {
      const next = Math.min(delayMs * 2, this.backoff.maxMs);
      this.log.warn({ issuer: this.settings.issuer.href, err: describeError(error), retryInMs: delayMs }, 'provider discovery failed; retrying');
      this.#timer = setTimeout(() => void this.#attempt(next), delayMs).unref();
    }
  }
}

const DISCOVERY_TIMEOUT_MS = 10_000;

type ClientSettings = Pick<Config, 'issuer' | 'clientId' | 'clientSecret' | 'clientAuth' | 'oidcTimeoutMs'>;
type ClientAuthMethod = Config['clientAuth'];

function authenticator(method: ClientAuthMethod, secret: string): client.ClientAuth {
  return method === 'client_secret_post' ? client.ClientSecretPost(secret) : client.ClientSecretBasic(secret);
}

/** Plain http is only ever accepted for a loopback issuer in production (config refuses others). */
function transportOptions(settings: ClientSettings, configuration: client.Configuration): void {
  if (settings.issuer.protocol === 'http:') client.allowInsecureRequests(configuration);
  // Every call (discovery, code exchange, userinfo, refresh, revocation) is bounded by OIDC_TIMEOUT_MS.
  configuration.timeout = Math.ceil(settings.oidcTimeoutMs / 1000);
}

async function discover(settings: ClientSettings) {
  const configuration = await client.discovery(settings.issuer, settings.clientId, undefined, authenticator(settings.clientAuth, settings.clientSecret), {
    execute: settings.issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [],
    // Discovery is retried with backoff: a provider that accepts the connection but does not answer
    // yet (still starting) must not hold the next attempt back for the full OIDC_TIMEOUT_MS.
    timeout: Math.ceil(Math.min(settings.oidcTimeoutMs, DISCOVERY_TIMEOUT_MS) / 1000),
  });
  transportOptions(settings, configuration);
  return configuration;
}

/**
 * The client authentication for the revocation endpoint: OIDC_CLIENT_AUTH when the provider's
 * `revocation_endpoint_auth_methods_supported` lists it (or lists nothing), otherwise a listed
 * method the BFF can do (some providers accept only Basic there, whatever the token endpoint takes).
 */
export function revocationAuthMethod(configured: ClientAuthMethod, supported: readonly string[] | undefined): ClientAuthMethod {
  if (!supported?.length || supported.includes(configured)) return configured;
  const usable = (['client_secret_basic', 'client_secret_post'] as const).find((method) => supported.includes(method));
  return usable ?? configured;
}

/** The configuration handle for revocation calls (the same one unless the provider needs another client authentication there). */
function revocationConfiguration(settings: ClientSettings, configuration: client.Configuration): client.Configuration {
  const metadata = configuration.serverMetadata();
  const method = revocationAuthMethod(settings.clientAuth, metadata.revocation_endpoint_auth_methods_supported);
  if (method === settings.clientAuth) return configuration;
  const forRevocation = new client.Configuration(metadata, settings.clientId, undefined, authenticator(method, settings.clientSecret));
  transportOptions(settings, forRevocation);
  return forRevocation;
}


/** Parameters sent on the code exchange and every refresh (RFC 8707 `resource`, when configured). */
export function tokenEndpointParams(config: Pick<Config, 'authParams'>): Record<string, string> {
  const resource = config.authParams.get('resource');
  return resource ? { resource } : {};
}
