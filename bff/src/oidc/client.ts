import * as client from 'openid-client';
import type { Config } from '../config.js';
import { unavailable } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * Holds the openid-client Configuration once discovery succeeded. Discovery retries with
 * exponential backoff while the provider is unreachable: the BFF starts anyway, `/readyz`
 * answers 503, and sign-in works as soon as the provider answers, without a restart.
 */
export class OidcClient {
  #config: client.Configuration | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #firstAttempt: Promise<void> | undefined;

  constructor(
    private readonly settings: Pick<Config, 'issuer' | 'clientId' | 'clientSecret' | 'clientAuth'>,
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
      this.#config = await discover(this.settings);
      this.log.info({ issuer: this.settings.issuer.href }, 'provider metadata loaded');
    } catch (error) {
      const next = Math.min(delayMs * 2, this.backoff.maxMs);
      this.log.warn({ issuer: this.settings.issuer.href, err: describe(error), retryInMs: delayMs }, 'provider discovery failed; retrying');
      this.#timer = setTimeout(() => void this.#attempt(next), delayMs).unref();
    }
  }
}

async function discover(settings: Pick<Config, 'issuer' | 'clientId' | 'clientSecret' | 'clientAuth'>) {
  const auth =
    settings.clientAuth === 'client_secret_post'
      ? client.ClientSecretPost(settings.clientSecret)
      : client.ClientSecretBasic(settings.clientSecret);
  // Plain http is only ever accepted for a loopback issuer (the dev provider); config refuses others in production.
  const insecure = settings.issuer.protocol === 'http:';
  const config = await client.discovery(settings.issuer, settings.clientId, undefined, auth, {
    execute: insecure ? [client.allowInsecureRequests] : [],
    timeout: 10,
  });
  config.timeout = 10;
  return config;
}

/** A log-safe description of an error: code and message, never request bodies. */
export function describe(error: unknown): { errorCode?: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { errorCode: typeof code === 'string' ? code : undefined, message: error.message };
  }
  return { message: String(error) };
}

/** Parameters sent on the code exchange and every refresh (RFC 8707 `resource`, when configured). */
export function tokenEndpointParams(config: Pick<Config, 'authParams'>): Record<string, string> {
  const resource = config.authParams.get('resource');
  return resource ? { resource } : {};
}
