import { z } from 'zod';
import { parseRoutes } from './api-routes.js';
import { KeyProblem, readPrivateKey, type SigningAlg, type SigningKey } from './signing-keys.js';

/**
 * The identity assertion key (`token=assertion` routes, docs/token-exchange.md): the BFF signs a
 * short JWT per session and route with `BFF_SIGNING_KEY`, and publishes its public half in
 * `/bff/jwks`. During a rotation `BFF_SIGNING_KEY_PREVIOUS` keeps the old public half published
 * (it never signs) until the last assertion signed with it has expired.
 */

/** ES256 and EdDSA: short signatures, and what JWT libraries everywhere verify. */
const ASSERTION_KEY_ALGS: readonly SigningAlg[] = ['ES256', 'EdDSA'];

/** The variables this part reads, spread into the configuration schema. */
export const assertionEnvShape = {
  BFF_SIGNING_KEY: z.string().optional(),
  BFF_SIGNING_KEY_PREVIOUS: z.string().optional(),
};

interface AssertionEnv {
  NODE_ENV: string;
  BFF_WORKERS: number;
  API_ROUTES?: unknown;
  BFF_SIGNING_KEY?: string;
  BFF_SIGNING_KEY_PREVIOUS?: string;
}

export interface AssertionSettings {
  /** Some route has `token=assertion`. */
  needed: boolean;
  /** The signing key; undefined with `needed` means a random key per process (development only). */
  key: SigningKey | undefined;
  /** The previous key during a rotation: published, never used to sign. */
  previous: SigningKey | undefined;
}

/** Reads and cross-checks the keys; every problem is one line naming the variable. */
export function readAssertionSettings(env: AssertionEnv): { settings: AssertionSettings; problems: string[] } {
  const problems: string[] = [];
  const key = (name: string, value: string | undefined) => {
    if (!value?.trim()) return undefined;
    try {
      return readPrivateKey(name, value, { allowed: ASSERTION_KEY_ALGS });
    } catch (error) {
      if (!(error instanceof KeyProblem)) throw error;
      problems.push(error.message);
      return undefined;
    }
  };
  const needed = typeof env.API_ROUTES === 'string' && parseRoutes(env.API_ROUTES, 1).routes.some((route) => route.token === 'assertion');
  const current = key('BFF_SIGNING_KEY', env.BFF_SIGNING_KEY);
  const previous = key('BFF_SIGNING_KEY_PREVIOUS', env.BFF_SIGNING_KEY_PREVIOUS);
  if (previous && !env.BFF_SIGNING_KEY?.trim()) problems.push('BFF_SIGNING_KEY_PREVIOUS is set without BFF_SIGNING_KEY');
  if (previous && current && previous.kid === current.kid) problems.push('BFF_SIGNING_KEY_PREVIOUS is the same key as BFF_SIGNING_KEY');
  if (needed && !env.BFF_SIGNING_KEY?.trim()) {
    // Upstreams verify against /bff/jwks: every instance and worker must sign with the same key.
    if (env.NODE_ENV === 'production') problems.push('BFF_SIGNING_KEY is required in production when a route has token=assertion');
    else if (env.BFF_WORKERS > 1)
      problems.push(
        'BFF_SIGNING_KEY is required when a route has token=assertion and BFF_WORKERS is above 1 (all workers must share one key)',
      );
  }
  return { problems, settings: { needed, key: current, previous } };
}

/** Every problem of `API_ROUTES` and of the assertion keys its routes need. */
export function routeProblems(env: AssertionEnv): string[] {
  const routes = typeof env.API_ROUTES === 'string' ? parseRoutes(env.API_ROUTES, 1).problems : [];
  return [...routes, ...readAssertionSettings(env).problems];
}
