import * as client from 'openid-client';
import { providerFetch } from './provider-fetch.js';
import type { Config } from '../config.js';
import type { ClientAuthMethod } from '../config-fapi.js';
import { describeError, unavailable } from '../errors.js';
import { toCryptoKeyPair, type SigningKey } from '../signing-keys.js';
import type { Logger } from '../logger.js';

/**
 * Holds the openid-client Configuration once discovery succeeded. Discovery retries with
 * exponential backoff while the provider is unreachable: the BFF starts anyway, `/readyz`
 * answers 503, and sign-in works as soon as the provider answers, without a restart.
 *
 * It also holds what every call to the provider needs besides the handle: the client
 * authentication (a secret, or a client assertion signed with the client key) and, with DPoP,
 * the openid-client DPoP handle that signs a proof for each token-endpoint call and remembers the
 * provider's `DPoP-Nonce` (openid-client answers a `use_dpop_nonce` refusal once by itself).
 */
export class OidcClient {
  #config: client.Configuration | undefined;
  #revocation: client.Configuration | undefined;
  #dpop: client.DPoPOptions | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #firstAttempt: Promise<void> | undefined;

  constructor(
    private readonly settings: ClientSettings,
    private readonly log: Logger,
    /** The DPoP key (RFC 9449) when tokens are to be sender-constrained; undefined: Bearer tokens. */
    private readonly dpopKey?: SigningKey,
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

  /**
   * The options every token-endpoint call (code exchange, refresh, client credentials) and the
   * pushed authorization request pass to openid-client: `{ DPoP }` when DPoP is on, else undefined.
   */
  get dpop(): client.DPoPOptions | undefined {
    return this.#dpop;
  }

  /**
   * Whether sign-in pushes its authorization request (RFC 9126): always with OIDC_PAR=true (login
   * refuses to start when the provider has no PAR endpoint), never with false, and with auto when
   * the provider advertises an endpoint (it then may also require it).
   */
  get pushesAuthorizationRequests(): boolean {
    if (this.settings.par === 'off') return false;
    return this.settings.par === 'required' || this.configuration.serverMetadata().pushed_authorization_request_endpoint !== undefined;
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
      const auth = await authenticators(this.settings);
      const configuration = await discover(this.settings, auth);
      this.#revocation = revocationConfiguration(this.settings, configuration, auth);
      if (this.dpopKey)
        this.#dpop = { DPoP: client.getDPoPHandle(configuration, await toCryptoKeyPair(this.dpopKey), algorithmHeader(this.dpopKey)) };
      this.#config = configuration;
      this.log.info(
        {
          issuer: this.settings.issuer.href,
          clientAuth: this.settings.clientAuth,
          par: this.pushesAuthorizationRequests,
          dpop: this.dpopKey !== undefined,
        },
        'provider metadata loaded',
      );
      this.#checkFeatures(configuration.serverMetadata());
    } catch (error) {
      const next = Math.min(delayMs * 2, this.backoff.maxMs);
      this.log.warn(
        { issuer: this.settings.issuer.href, err: describeError(error), retryInMs: delayMs },
        'provider discovery failed; retrying',
      );
      this.#timer = setTimeout(() => void this.#attempt(next), delayMs).unref();
    }
  }

  /** Says at start-up, once, what will not work with this provider, rather than at the first sign-in. */
  #checkFeatures(metadata: client.ServerMetadata): void {
    const { par } = this.settings;
    if (par === 'required' && !metadata.pushed_authorization_request_endpoint) {
      this.log.error(
        { event: 'par_unsupported' },
        'OIDC_PAR=true but the provider advertises no pushed_authorization_request_endpoint: sign-in will refuse to start',
      );
    }
    if (par === 'off' && metadata.require_pushed_authorization_requests) {
      this.log.error(
        { event: 'par_required' },
        'the provider requires pushed authorization requests but OIDC_PAR=false: sign-in will fail at the provider',
      );
    }
    if (this.dpopKey && !metadata.dpop_signing_alg_values_supported?.includes(this.dpopKey.alg)) {
      this.log.warn(
        { event: 'dpop_unadvertised', alg: this.dpopKey.alg },
        "OIDC_DPOP=true but the provider does not advertise DPoP with this key's algorithm; it may issue Bearer tokens (sent as Bearer)",
      );
    }
  }
}

const DISCOVERY_TIMEOUT_MS = 10_000;

type ClientSettings = Pick<Config, 'issuer' | 'clientId' | 'clientSecret' | 'clientAuth' | 'clientKey' | 'oidcTimeoutMs' | 'par'>;

/** The client authentications the BFF can do with what it was given (a secret, a key, or both). */
interface Authenticators {
  usable: ClientAuthMethod[];
  make(method: ClientAuthMethod): client.ClientAuth;
}

async function authenticators(settings: ClientSettings): Promise<Authenticators> {
  const { clientSecret: secret, clientKey: key } = settings;
  // The WebCrypto import is done once; every assertion (code exchange, refresh, revocation,
  // client credentials) is then signed with it by openid-client, with a fresh jti and exp.
  const assertionKey = key ? { key: (await toCryptoKeyPair(key)).privateKey, kid: key.kid } : undefined;
  const usable: ClientAuthMethod[] = [
    ...(assertionKey ? (['private_key_jwt'] as const) : []),
    ...(secret ? (['client_secret_basic', 'client_secret_post'] as const) : []),
  ];
  return {
    usable,
    make(method) {
      if (method === 'private_key_jwt') return client.PrivateKeyJwt(assertionKey!, algorithmHeader(key!));
      return method === 'client_secret_post' ? client.ClientSecretPost(secret) : client.ClientSecretBasic(secret);
    },
  };
}

/**
 * openid-client names an Ed25519 signature `Ed25519` (the fully specified RFC 9864 name); many
 * providers (Keycloak, older oidc-provider) know it only as `EdDSA`, which the kit publishes in
 * its JWKS too. The signature is the same: only the header changes.
 */
function algorithmHeader(key: SigningKey): client.ModifyAssertionOptions | undefined {
  if (key.alg !== 'EdDSA') return undefined;
  return {
    [client.modifyAssertion]: (header) => {
      header.alg = 'EdDSA';
    },
  };
}

/** Plain http is only ever accepted for a loopback issuer in production (config refuses others). */
function transportOptions(settings: ClientSettings, configuration: client.Configuration): void {
  if (settings.issuer.protocol === 'http:') client.allowInsecureRequests(configuration);
  // Every call (discovery, code exchange, userinfo, refresh, revocation) is bounded by OIDC_TIMEOUT_MS.
  configuration.timeout = Math.ceil(settings.oidcTimeoutMs / 1000);
  // Over undici's request, not the global fetch: about 1 ms less CPU per sign-in (provider-fetch.ts).
  configuration[client.customFetch] = providerFetch;
}

async function discover(settings: ClientSettings, auth: Authenticators) {
  const configuration = await client.discovery(settings.issuer, settings.clientId, undefined, auth.make(settings.clientAuth), {
    execute: settings.issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [],
    [client.customFetch]: providerFetch, // discovery and JWKS over the same transport as the rest
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
 * `usable` is what the BFF can do with what it was given: a secret gives both secret methods, a
 * client key gives private_key_jwt.
 */
export function revocationAuthMethod(
  configured: ClientAuthMethod,
  supported: readonly string[] | undefined,
  usable: readonly ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post'],
): ClientAuthMethod {
  if (!supported?.length || supported.includes(configured)) return configured;
  return usable.find((method) => supported.includes(method)) ?? configured;
}

/** The configuration handle for revocation calls (the same one unless the provider needs another client authentication there). */
function revocationConfiguration(
  settings: ClientSettings,
  configuration: client.Configuration,
  auth: Authenticators,
): client.Configuration {
  const metadata = configuration.serverMetadata();
  const method = revocationAuthMethod(settings.clientAuth, metadata.revocation_endpoint_auth_methods_supported, auth.usable);
  if (method === settings.clientAuth) return configuration;
  const forRevocation = new client.Configuration(metadata, settings.clientId, undefined, auth.make(method));
  transportOptions(settings, forRevocation);
  return forRevocation;
}

/** Parameters sent on the code exchange and every refresh (RFC 8707 `resource`, when configured). */
export function tokenEndpointParams(config: Pick<Config, 'authParams'>): Record<string, string> {
  const resource = config.authParams.get('resource');
  return resource ? { resource } : {};
}
