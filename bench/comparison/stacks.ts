/**
 * The sign-in stacks the kit's sign-in is measured beside (issue 29): what a team would otherwise
 * assemble in Node, each a small server of its own (express.ts, fastify.ts) started by
 * bench/stack.ts as a child process, so its CPU is read by pid exactly like the BFF's. Neither is
 * hardened like the kit (docs/performance.md says what each checks and what it lacks).
 */

/** Where a browser starts signing in, and a call that answers 200 only once it is signed in. */
export interface SignInPaths {
  login: string;
  signedIn: string;
  /** Headers the signed-in call needs (the kit's `GET /bff/user` wants `X-CSRF: 1`). */
  headers?: Record<string, string>;
}

/** A comparison stack: its server, its client at the dev provider and its paths. */
export interface ComparisonStack {
  label: string;
  script: string;
  clientId: string;
  callback: string;
  paths: SignInPaths;
}

export const COMPARISON_STACKS = {
  express: {
    label: 'Express + express-openid-connect',
    script: 'bench/comparison/express.ts',
    clientId: 'bench-express',
    callback: '/callback',
    paths: { login: '/login', signedIn: '/me' },
  },
  fastify: {
    label: 'Fastify + @fastify/session + openid-client',
    script: 'bench/comparison/fastify.ts',
    clientId: 'bench-fastify',
    callback: '/callback',
    paths: { login: '/login', signedIn: '/me' },
  },
} as const satisfies Record<string, ComparisonStack>;
export type ComparisonName = keyof typeof COMPARISON_STACKS;

/** The scopes every stack asks for: the kit's default OIDC_SCOPES, so the provider does the same work. */
export const SCOPES = 'openid profile email offline_access';

/** What bench/stack.ts hands a comparison server in its environment. */
export function comparisonSettings(env: NodeJS.ProcessEnv) {
  const get = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  return {
    port: Number(get('PORT')),
    issuer: get('OIDC_ISSUER'),
    clientId: get('OIDC_CLIENT_ID'),
    clientSecret: get('OIDC_CLIENT_SECRET'),
    redisUrl: get('REDIS_URL'),
    /** Signs the session cookies (and, for express-openid-connect, its login transaction cookie). */
    cookieSecret: get('COOKIE_SECRET'),
  };
}
