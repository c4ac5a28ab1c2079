import { KeyProblem, readPrivateKey, type SigningAlg, type SigningKey } from './signing-keys.js';

/**
 * The FAPI 2.0 toolbox settings (docs/fapi.md): which client
 * authentication, whether sign-in pushes its request (RFC 9126), and whether tokens are
 * DPoP-bound (RFC 9449). Checked as a whole, because most mistakes are combinations: a key
 * without the method that uses it, a method without its key, a DPoP key of the wrong type.
 */

export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

/** Client assertions: every algorithm the kit can sign with. */
const CLIENT_KEY_ALGS: readonly SigningAlg[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];
/** DPoP proofs: the asymmetric algorithms providers accept for DPoP (oidc-provider, Keycloak, Okta: ES256, EdDSA). */
const DPOP_KEY_ALGS: readonly SigningAlg[] = ['ES256', 'EdDSA'];

/** The environment variables this part reads (already validated as plain strings by the schema). */
export interface FapiEnv {
  production: boolean;
  workers: number;
  OIDC_CLIENT_AUTH: ClientAuthMethod;
  OIDC_CLIENT_SECRET?: string;
  OIDC_CLIENT_PRIVATE_KEY?: string;
  OIDC_CLIENT_KEY_ID?: string;
  OIDC_PAR: 'auto' | 'true' | 'false';
  OIDC_DPOP: 'true' | 'false';
  DPOP_PRIVATE_KEY?: string;
}

export interface FapiSettings {
  clientAuth: ClientAuthMethod;
  /** Present with client_secret_* (and allowed, unused but for a revocation fallback, with private_key_jwt). */
  clientSecret: string | undefined;
  /** The client assertion key, with `private_key_jwt` only. */
  clientKey: SigningKey | undefined;
  /** `auto`: when the provider advertises PAR; `required`: sign-in refuses to start without it; `off`: never. */
  par: 'auto' | 'required' | 'off';
  /**
   * DPoP on or off, and its key; enabled without a key (development only) means a random key per
   * process, made at start-up with a warning.
   */
  dpop: { enabled: boolean; key: SigningKey | undefined };
}

/** Reads and cross-checks the settings; every problem is one line naming the variable. */
export function readFapiSettings(env: FapiEnv): { settings: FapiSettings; problems: string[] } {
  const problems: string[] = [];
  const key = (name: string, value: string | undefined, options: { kid?: string; allowed: readonly SigningAlg[] }) => {
    if (!value?.trim()) return undefined;
    try {
      return readPrivateKey(name, value, options);
    } catch (error) {
      if (!(error instanceof KeyProblem)) throw error;
      problems.push(error.message);
      return undefined;
    }
  };
  const assertion = env.OIDC_CLIENT_AUTH === 'private_key_jwt';
  const secret = env.OIDC_CLIENT_SECRET || undefined;
  const kid = env.OIDC_CLIENT_KEY_ID?.trim() || undefined;
  if (!assertion && !secret) problems.push('OIDC_CLIENT_SECRET is required');
  if (assertion && !env.OIDC_CLIENT_PRIVATE_KEY?.trim())
    problems.push('OIDC_CLIENT_PRIVATE_KEY is required when OIDC_CLIENT_AUTH=private_key_jwt');
  if (!assertion && env.OIDC_CLIENT_PRIVATE_KEY?.trim()) {
    problems.push(
      `OIDC_CLIENT_PRIVATE_KEY is set but OIDC_CLIENT_AUTH is ${env.OIDC_CLIENT_AUTH} (set OIDC_CLIENT_AUTH=private_key_jwt to use the key)`,
    );
  }
  if (kid && !env.OIDC_CLIENT_PRIVATE_KEY?.trim()) problems.push('OIDC_CLIENT_KEY_ID is set without OIDC_CLIENT_PRIVATE_KEY');
  const clientKey = assertion ? key('OIDC_CLIENT_PRIVATE_KEY', env.OIDC_CLIENT_PRIVATE_KEY, { kid, allowed: CLIENT_KEY_ALGS }) : undefined;

  const dpop = env.OIDC_DPOP === 'true';
  const dpopKey = key('DPOP_PRIVATE_KEY', env.DPOP_PRIVATE_KEY, { allowed: DPOP_KEY_ALGS });
  if (!dpop && env.DPOP_PRIVATE_KEY?.trim()) problems.push('DPOP_PRIVATE_KEY is set but OIDC_DPOP is not true');
  if (dpop && !env.DPOP_PRIVATE_KEY?.trim()) {
    // A token is bound to one key: every instance and worker must sign with the same one.
    if (env.production) problems.push('DPOP_PRIVATE_KEY is required in production when OIDC_DPOP=true (all instances must share one key)');
    else if (env.workers > 1)
      problems.push('DPOP_PRIVATE_KEY is required when OIDC_DPOP=true and BFF_WORKERS is above 1 (all workers must share one key)');
  }
  return {
    problems,
    settings: {
      clientAuth: env.OIDC_CLIENT_AUTH,
      clientSecret: secret,
      clientKey,
      par: env.OIDC_PAR === 'true' ? 'required' : env.OIDC_PAR === 'false' ? 'off' : 'auto',
      dpop: { enabled: dpop, key: dpop ? dpopKey : undefined },
    },
  };
}
