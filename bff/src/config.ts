import { z } from 'zod';
import { parseRoutes } from './api-routes.js';
import { cookieNamesFor, cookieProblems } from './config-cookies.js';
import { SSF_ENV, ssfProblems, ssfSettings } from './config-ssf.js';
import { CLIENT_AUTH_METHODS, readFapiSettings, type FapiEnv } from './config-fapi.js';
import { assertionEnvShape, readAssertionSettings, routeProblems } from './config-assertion.js';
import { SAMPLERS, otlpProtocol, tracingSettings } from './config-tracing.js';
import { forwardHeaderProblems } from './http/header-rules.js';

/**
 * The BFF's configuration, read from the environment and validated once at start-up.
 * One zod schema both validates and defines the type; every problem is reported at once,
 * each naming the exact variable, and secrets have no defaults.
 */

const DEMO_API = 'http://127.0.0.1:4000';

const csv = (value: string) =>
  value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);

const url = (name: string) =>
  z.string().refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), `${name} must be an http(s) URL`);

const seconds = (name: string, fallback: number) =>
  z.coerce
    .number({ error: `${name} must be a number of seconds` })
    .int(`${name} must be a whole number of seconds`)
    .positive(`${name} must be positive`)
    .default(fallback);

/** A loopback host: the only place a production BFF may reach its provider over plain http. */
function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

const RESERVED_AUTH_PARAMS = [
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'redirect_uri',
  'client_id',
  'response_type',
  'scope',
  'request_uri',
  'request',
  'dpop_jkt',
];

const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: z.coerce.number({ error: 'PORT must be a number' }).int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).default('127.0.0.1'),
    // Set: /metrics is served only on this second listener, not on the public port.
    METRICS_PORT: z.coerce.number({ error: 'METRICS_PORT must be a number' }).int().min(0).max(65535).optional(),
    METRICS_HOST: z.string().min(1).optional(),
    PUBLIC_URL: url('PUBLIC_URL').optional(),
    ALLOW_INSECURE_PUBLIC_URL: z.enum(['true', 'false']).default('false'),
    OIDC_ISSUER: url('OIDC_ISSUER'),
    OIDC_CLIENT_ID: z.string({ error: 'OIDC_CLIENT_ID is required' }).min(1, 'OIDC_CLIENT_ID is required'),
    // Required unless OIDC_CLIENT_AUTH=private_key_jwt: checked with the other client settings below.
    OIDC_CLIENT_SECRET: z.string().optional(),
    OIDC_SCOPES: z
      .string()
      .default('openid profile email offline_access')
      .refine((value) => value.split(/\s+/).includes('openid'), 'OIDC_SCOPES must include openid'),
    OIDC_CLIENT_AUTH: z
      .enum(CLIENT_AUTH_METHODS, {
        error: 'OIDC_CLIENT_AUTH must be client_secret_basic, client_secret_post or private_key_jwt',
      })
      .default('client_secret_basic'),
    OIDC_CLIENT_PRIVATE_KEY: z.string().optional(),
    OIDC_CLIENT_KEY_ID: z.string().optional(),
    OIDC_PAR: z.enum(['auto', 'true', 'false'], { error: 'OIDC_PAR must be auto, true or false' }).default('auto'),
    OIDC_DPOP: z.enum(['true', 'false'], { error: 'OIDC_DPOP must be true or false' }).default('false'),
    DPOP_PRIVATE_KEY: z.string().optional(),
    ...assertionEnvShape,
    OIDC_AUTH_PARAMS: z.string().default(''),
    REDIS_URL: z
      .string()
      .refine(
        (value) => /^rediss?(\+(sentinel|cluster))?:\/\//.test(value),
        'REDIS_URL must be a redis:// or rediss:// URL (+sentinel or +cluster)',
      )
      .optional(),
    SESSION_KEYS: z.string().optional(),
    API_ROUTES: z.string().default(`/api=${DEMO_API}`),
    API_TIMEOUT_MS: z.coerce.number({ error: 'API_TIMEOUT_MS must be a number' }).int().positive().default(30000),
    SESSION_IDLE_TIMEOUT: seconds('SESSION_IDLE_TIMEOUT', 1800),
    SESSION_ABSOLUTE_TIMEOUT: seconds('SESSION_ABSOLUTE_TIMEOUT', 28800),
    SESSION_COOKIE_NAME: z.string().optional(),
    SESSION_SAMESITE: z.enum(['strict', 'lax'], { error: 'SESSION_SAMESITE must be strict or lax' }).default('strict'),
    STATIC_DIR: z.string().default('web/dist'),
    TRUST_PROXY: z
      .string()
      .default('false')
      .refine((value) => /^(true|false|\d{1,2})$/.test(value), 'TRUST_PROXY must be false, true (one proxy hop) or a number of hops'),
    API_FORWARD_HEADERS: z.string().default(''),
    ALLOW_INSECURE_ISSUER: z.enum(['true', 'false']).default('false'),
    OIDC_TIMEOUT_MS: z.coerce.number({ error: 'OIDC_TIMEOUT_MS must be a number' }).int().positive().max(600_000).default(30000),
    LOGIN_RATE_LIMIT: z.coerce.number({ error: 'LOGIN_RATE_LIMIT must be a number' }).int().min(0).default(30),
    MAX_BODY_BYTES: z.coerce
      .number({ error: 'MAX_BODY_BYTES must be a number' })
      .int()
      .positive()
      .default(10 * 1024 * 1024),
    // Budgets (docs/budgets.md): what one caller may hold at once, and how long.
    API_MAX_CALLS_PER_SESSION: z.coerce
      .number({ error: 'API_MAX_CALLS_PER_SESSION must be a number' })
      .int()
      .positive()
      .max(10_000)
      .default(32),
    API_BODY_TIMEOUT_MS: z.coerce
      .number({ error: 'API_BODY_TIMEOUT_MS must be a number' })
      .int()
      .positive()
      .max(3_600_000)
      .default(120_000),
    WS_MAX_MESSAGE_BYTES: z.coerce
      .number({ error: 'WS_MAX_MESSAGE_BYTES must be a number' })
      .int()
      .positive()
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number({ error: 'SHUTDOWN_TIMEOUT_MS must be a number' }).int().min(0).max(600_000).default(10_000),
    SESSION_CACHE_ENTRIES: z.coerce.number({ error: 'SESSION_CACHE_ENTRIES must be a number' }).int().min(0).max(1_000_000).default(10_000),
    BFF_WORKERS: z.coerce.number({ error: 'BFF_WORKERS must be a number' }).int().min(1).max(64).default(1),
    ...SSF_ENV,
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    // OpenTelemetry's own variable names (docs/observability.md): tracing is on when an endpoint is set.
    OTEL_EXPORTER_OTLP_ENDPOINT: url('OTEL_EXPORTER_OTLP_ENDPOINT').optional(),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT').optional(),
    OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol('OTEL_EXPORTER_OTLP_PROTOCOL'),
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otlpProtocol('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'),
    OTEL_SERVICE_NAME: z.string().min(1).default('bff'),
    OTEL_TRACES_SAMPLER: z
      .enum(SAMPLERS, { error: `OTEL_TRACES_SAMPLER must be one of ${SAMPLERS.join(', ')}` })
      .default('parentbased_always_on'),
    OTEL_TRACES_SAMPLER_ARG: z.coerce
      .number({ error: 'OTEL_TRACES_SAMPLER_ARG must be a number' })
      .min(0, 'OTEL_TRACES_SAMPLER_ARG must be between 0 and 1')
      .max(1, 'OTEL_TRACES_SAMPLER_ARG must be between 0 and 1')
      .default(1),
    OTEL_SDK_DISABLED: z.enum(['true', 'false']).default('false'),
  })
  // Cross-field rules run even when some fields failed, so one message lists every problem.
  .superRefine(
    (env, ctx) => {
      const problem = (message: string) => ctx.addIssue({ code: 'custom', message });
      const production = env.NODE_ENV === 'production';
      if (typeof env.PUBLIC_URL === 'string' && URL.canParse(env.PUBLIC_URL)) {
        const publicUrl = new URL(env.PUBLIC_URL);
        if (publicUrl.pathname !== '/' || publicUrl.search || publicUrl.hash) {
          problem('PUBLIC_URL must be an origin only (no path, query or fragment)');
        }
        const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(publicUrl.hostname);
        if (production && publicUrl.protocol !== 'https:' && !loopback && env.ALLOW_INSECURE_PUBLIC_URL !== 'true') {
          problem('PUBLIC_URL must be https in production (set ALLOW_INSECURE_PUBLIC_URL=true to override)');
        }
      }
      cookieProblems(/^https:/i.test(env.PUBLIC_URL ?? ''), env.SESSION_COOKIE_NAME || undefined).forEach(problem);
      ssfProblems(env).forEach(problem);
      const sessionKeys = csv(env.SESSION_KEYS ?? '');
      if (sessionKeys.some((key) => Buffer.byteLength(key) < 32)) {
        problem('SESSION_KEYS entries must be at least 32 bytes each');
      }
      if (production && sessionKeys.length === 0) problem('SESSION_KEYS is required in production');
      if (production && !env.REDIS_URL) {
        problem('REDIS_URL is required in production (the memory store is for development only)');
      }
      if (env.BFF_WORKERS > 1 && !env.REDIS_URL) problem('BFF_WORKERS above 1 needs REDIS_URL (workers share sessions through Redis)');
      // Without SESSION_KEYS each worker makes its own random key: users would be signed out at random.
      if (env.BFF_WORKERS > 1 && sessionKeys.length === 0)
        problem('BFF_WORKERS above 1 needs SESSION_KEYS (each worker would make its own key and sign users out at random)');
      if (env.METRICS_PORT !== undefined && env.METRICS_PORT !== 0 && env.METRICS_PORT === env.PORT)
        problem('METRICS_PORT must differ from PORT (/metrics gets a listener of its own)');
      if (env.SESSION_ABSOLUTE_TIMEOUT < env.SESSION_IDLE_TIMEOUT) {
        problem('SESSION_ABSOLUTE_TIMEOUT must not be shorter than SESSION_IDLE_TIMEOUT');
      }
      const authParams = new URLSearchParams(env.OIDC_AUTH_PARAMS ?? '');
      for (const reserved of RESERVED_AUTH_PARAMS) {
        if (authParams.has(reserved)) problem(`OIDC_AUTH_PARAMS must not set ${reserved} (the BFF sets it)`);
      }
      if (
        CLIENT_AUTH_METHODS.includes(env.OIDC_CLIENT_AUTH) &&
        ['auto', 'true', 'false'].includes(env.OIDC_PAR) &&
        ['true', 'false'].includes(env.OIDC_DPOP)
      ) {
        readFapiSettings(fapiEnv(env)).problems.forEach(problem);
      }
      routeProblems(env).forEach(problem);
      if (typeof env.API_FORWARD_HEADERS === 'string') forwardHeaderProblems(csv(env.API_FORWARD_HEADERS)).forEach(problem);
      if (production && typeof env.OIDC_ISSUER === 'string' && URL.canParse(env.OIDC_ISSUER)) {
        const issuer = new URL(env.OIDC_ISSUER);
        if (issuer.protocol === 'http:' && !isLoopbackHost(issuer.hostname) && env.ALLOW_INSECURE_ISSUER !== 'true') {
          problem(
            'OIDC_ISSUER must be https in production unless its host is a loopback address (set ALLOW_INSECURE_ISSUER=true to override)',
          );
        }
      }
    },
    { when: () => true },
  )
  .transform((env) => {
    const publicUrl = new URL(env.PUBLIC_URL ?? `http://localhost:${env.PORT}`);
    const fapi = readFapiSettings(fapiEnv(env)).settings;
    return {
      production: env.NODE_ENV === 'production',
      port: env.PORT,
      host: env.HOST,
      /** The metrics listener; `port` undefined: `/metrics` is served on the public port. */
      metrics: { port: env.METRICS_PORT, host: env.METRICS_HOST ?? env.HOST },
      publicUrl,
      secureCookies: publicUrl.protocol === 'https:',
      cookies: cookieNamesFor(publicUrl.protocol === 'https:', env.SESSION_COOKIE_NAME || undefined),
      issuer: new URL(env.OIDC_ISSUER),
      clientId: env.OIDC_CLIENT_ID,
      clientSecret: fapi.clientSecret,
      clientAuth: fapi.clientAuth,
      /** The client assertion key (`private_key_jwt` only). */
      clientKey: fapi.clientKey,
      /** Pushed authorization requests: `auto`, `required` or `off` (OIDC_PAR auto/true/false). */
      par: fapi.par,
      /** DPoP-bound tokens; `key` undefined with `enabled` means a random per-process key (development). */
      dpop: fapi.dpop,
      assertion: readAssertionSettings(env).settings,
      scopes: env.OIDC_SCOPES.trim().split(/\s+/).join(' '),
      authParams: new URLSearchParams(env.OIDC_AUTH_PARAMS),
      redisUrl: env.REDIS_URL,
      /** Empty in development: a random per-process key is used (sessions do not survive a restart). */
      sessionKeys: csv(env.SESSION_KEYS ?? ''),
      apiRoutes: parseRoutes(env.API_ROUTES, env.API_TIMEOUT_MS).routes,
      apiTimeoutMs: env.API_TIMEOUT_MS,
      idleTimeout: env.SESSION_IDLE_TIMEOUT,
      absoluteTimeout: env.SESSION_ABSOLUTE_TIMEOUT,
      sameSite: env.SESSION_SAMESITE,
      staticDir: env.STATIC_DIR,
      /** Proxy hops in front of the BFF whose X-Forwarded-For entries are trusted (0 = none). */
      trustedProxyHops: env.TRUST_PROXY === 'true' ? 1 : env.TRUST_PROXY === 'false' ? 0 : Number(env.TRUST_PROXY),
      /** Extra browser request headers the proxy forwards (lower case). */
      forwardHeaders: csv(env.API_FORWARD_HEADERS).map((name) => name.toLowerCase()),
      /** Session records kept in process per instance (0: every call reads Redis). */
      sessionCacheEntries: env.SESSION_CACHE_ENTRIES,
      oidcTimeoutMs: env.OIDC_TIMEOUT_MS,
      loginRateLimit: env.LOGIN_RATE_LIMIT,
      maxBodyBytes: env.MAX_BODY_BYTES,
      /** Proxied HTTP calls in flight per session (per client address without one). */
      maxCallsPerSession: env.API_MAX_CALLS_PER_SESSION,
      /** From a request's headers to the last byte of its body. */
      bodyTimeoutMs: env.API_BODY_TIMEOUT_MS,
      /** Largest WebSocket message on either leg (close 1009 above). */
      wsMaxMessageBytes: env.WS_MAX_MESSAGE_BYTES,
      /** After SIGTERM the process has exited by then (+2 s), whatever its clients do. */
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
      logLevel: env.LOG_LEVEL,
      workers: env.BFF_WORKERS,
      /** OTLP/HTTP trace export; undefined when no endpoint is set (or OTEL_SDK_DISABLED=true): no tracing code runs. */
      tracing: tracingSettings(env),
      /** Shared Signals (`POST /bff/ssf`); undefined without SSF_ISSUER. */
      ssf: ssfSettings(env, publicUrl),
    };
  });

/** The part of the raw environment the FAPI settings read. */
function fapiEnv(env: Omit<FapiEnv, 'production' | 'workers'> & { NODE_ENV: string; BFF_WORKERS: number }): FapiEnv {
  return { ...env, production: env.NODE_ENV === 'production', workers: env.BFF_WORKERS };
}

export type Config = z.output<typeof envSchema>;
export type { TracingSettings } from './config-tracing.js';

/** Every variable the configuration reads, as named in the schema (`.env.example` lists each one; a test keeps them together). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.in.shape);

/** Thrown by {@link loadConfig}: `problems` holds one line per invalid or missing variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((line) => `  - ${line}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates `env` (normally `process.env`) and returns the typed configuration, or throws {@link ConfigError}. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const result = envSchema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = issue.path.length ? String(issue.path[0]) : '';
    if (issue.code === 'invalid_type' && issue.input === undefined) return `${variable} is required`;
    return issue.message.includes(variable) || !variable ? issue.message : `${variable}: ${issue.message}`;
  });
  throw new ConfigError(problems);
}
