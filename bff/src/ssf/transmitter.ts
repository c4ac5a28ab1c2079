import { createRemoteJWKSet, customFetch, jwtVerify, type JWTPayload } from 'jose';
import type { SsfSettings } from '../config-ssf.js';

/**
 * The Shared Signals transmitter as the BFF knows it: its configuration (discovered at
 * `/.well-known/ssf-configuration`, SSF 1.0 §7), its keys (`jwks_uri`, cached by jose, fetched
 * again on an unknown `kid` at most every 30 s) and the verification of its SETs.
 */

/** SETs older than this (by `iat`) are refused; `jti`s are remembered at least this long. */
export const SET_MAX_AGE_SECONDS = 600;
export const SET_CLOCK_TOLERANCE_SECONDS = 30;
/** Asymmetric algorithms only: a transmitter signs with its own key, never a secret shared with us. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** The members of the transmitter's configuration the BFF uses. */
export interface TransmitterConfiguration {
  issuer: string;
  jwks_uri: string;
  configuration_endpoint?: string;
  delivery_methods_supported?: string[];
}

/** The transmitter's configuration could not be read (network, status, shape): the SET may be fine, so 503. */
export class TransmitterUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransmitterUnavailable';
  }
}

/**
 * Where the configuration lives: `/.well-known/ssf-configuration` inserted between the issuer's host
 * and its path (SSF 1.0 §7.2); for an issuer with a path, the appended form is tried second (some
 * transmitters serve it there).
 */
export function configurationUrls(issuer: string): URL[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  const inserted = new URL(`/.well-known/ssf-configuration${path}`, url.origin);
  return path ? [inserted, new URL(`${url.origin}${path}/.well-known/ssf-configuration`)] : [inserted];
}

export class Transmitter {
  #configuration: Promise<TransmitterConfiguration> | undefined;
  #keys: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(
    private readonly settings: SsfSettings,
    private readonly timeoutMs: number,
  ) {}

  /** The configuration, fetched once (and again after a failure). */
  configuration(): Promise<TransmitterConfiguration> {
    this.#configuration ??= this.#discover().catch((error: unknown) => {
      this.#configuration = undefined;
      throw error;
    });
    return this.#configuration;
  }

  /**
   * Verifies a SET: signature by the transmitter's keys, explicit type `secevent+jwt` (no other JWT
   * may pass as one), `iss`, `aud` containing SSF_AUDIENCE, `iat` neither in the future nor older
   * than {@link SET_MAX_AGE_SECONDS}, and a `jti`. Throws jose's errors (a bad SET) or
   * {@link TransmitterUnavailable}.
   */
  async verify(token: string): Promise<JWTPayload> {
    const configuration = await this.configuration();
    this.#keys ??= createRemoteJWKSet(new URL(configuration.jwks_uri), {
      timeoutDuration: this.timeoutMs,
      [customFetch]: (url: string, init: RequestInit) => fetch(url, { ...init, redirect: 'error' }),
    });
    const { payload } = await jwtVerify(token, this.#keys, {
      issuer: this.settings.issuer,
      audience: this.settings.audience,
      typ: 'secevent+jwt',
      maxTokenAge: SET_MAX_AGE_SECONDS,
      clockTolerance: SET_CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['iat', 'jti'],
      algorithms: ALGORITHMS,
    });
    return payload;
  }

  async #discover(): Promise<TransmitterConfiguration> {
    let last: unknown;
    for (const url of configurationUrls(this.settings.issuer)) {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs), redirect: 'error' });
        if (response.status === 404) {
          last = new Error(`${url.href} answered 404`);
          continue;
        }
        if (!response.ok) throw new Error(`${url.href} answered ${response.status}`);
        const body = (await response.json()) as Partial<TransmitterConfiguration>;
        // The configuration must be the issuer's own (a mix-up defence, as for OpenID discovery).
        if (body.issuer !== this.settings.issuer) throw new Error(`the configuration's issuer is ${String(body.issuer)}, not SSF_ISSUER`);
        if (typeof body.jwks_uri !== 'string' || !URL.canParse(body.jwks_uri)) throw new Error('the configuration has no jwks_uri');
        return body as TransmitterConfiguration;
      } catch (error) {
        throw new TransmitterUnavailable("The transmitter's configuration could not be read.", { cause: error });
      }
    }
    throw new TransmitterUnavailable("The transmitter's configuration could not be found.", { cause: last });
  }
}
