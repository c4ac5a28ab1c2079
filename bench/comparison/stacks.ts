/**
 * The sign-in stacks the kit's sign-in is measured beside (issue 29): what a team would otherwise
 * assemble in Node, each a small server of its own (express.ts, fastify.ts) started by
 * bench/stack.ts as a child process, so its CPU is read by pid exactly like the BFF's. Like the
 * BFF they run compiled, as plain JavaScript (not through tsx). Neither is hardened like the kit
 * (docs/performance.md says what each checks and what it lacks).
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
  /** The server's source in this folder, without `.ts`. */
  source: string;
  clientId: string;
  callback: string;
  paths: SignInPaths;
}

export const COMPARISON_STACKS = {
  express: {
    label: 'Express + express-openid-connect',
    source: 'express',
    clientId: 'bench-express',
    callback: '/callback',
    paths: { login: '/login', signedIn: '/me' },
  },
  fastify: {
    label: 'Fastify + @fastify/session + openid-client',
    source: 'fastify',
    clientId: 'bench-fastify',
    callback: '/callback',
    paths: { login: '/login', signedIn: '/me' },
  },
} as const satisfies Record<string, ComparisonStack>;
export type ComparisonName = keyof typeof COMPARISON_STACKS;

/** Where bench/stack.ts compiles the servers to (the BFF's build goes to dist/ too). */
const OUT_DIR = 'dist/bench/comparison';

/** The compiled entry point of a comparison stack, relative to the repository. */
export const comparisonEntry = (stack: ComparisonStack) => `${OUT_DIR}/${stack.source}.js`;

/**
 * tsc's arguments that compile the servers to plain JavaScript, with the repository's compiler
 * settings; types are left to `npm run typecheck`.
 */
export const comparisonBuildArgs = () => [
  ...['--outDir', OUT_DIR, '--rootDir', 'bench/comparison', '--module', 'nodenext', '--target', 'es2023'],
  ...['--esModuleInterop', '--skipLibCheck', '--types', 'node', '--noCheck'],
  ...Object.values(COMPARISON_STACKS).map((stack) => `bench/comparison/${stack.source}.ts`),
];

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
