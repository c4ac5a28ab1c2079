import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { BASE_ENV, configProblems } from '../../test/support/config-problems.js';

const base = BASE_ENV;
const key = 'k'.repeat(32);

describe('configuration', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(base);
    expect(config.port).toBe(3000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.publicUrl.href).toBe('http://localhost:3000/');
    expect(config.scopes).toBe('openid profile email offline_access');
    expect(config.idleTimeout).toBe(1800);
    expect(config.absoluteTimeout).toBe(28800);
    expect(config.sameSite).toBe('strict');
    expect(config.apiTimeoutMs).toBe(30000);
    expect(config.clientAuth).toBe('client_secret_basic');
    expect(config.apiRoutes).toEqual([
      { prefix: '/api', upstream: new URL('http://127.0.0.1:4000'), token: 'user', target: undefined, websocket: false, timeoutMs: 30000 },
    ]);
    expect(config.secureCookies).toBe(false);
  });

  it('lists every problem at once, naming each variable', () => {
    const found = configProblems({ PORT: 'eighty', OIDC_SCOPES: 'profile', SESSION_SAMESITE: 'none' });
    expect(found).toEqual(
      expect.arrayContaining([
        'OIDC_ISSUER is required',
        'OIDC_CLIENT_ID is required',
        'OIDC_CLIENT_SECRET is required',
        expect.stringContaining('PORT'),
        expect.stringContaining('OIDC_SCOPES must include openid'),
        expect.stringContaining('SESSION_SAMESITE'),
      ]),
    );
    expect(found.length).toBeGreaterThanOrEqual(6);
  });

  it('refuses the memory store, missing SESSION_KEYS and http PUBLIC_URL in production', () => {
    const found = configProblems({ ...base, NODE_ENV: 'production', PUBLIC_URL: 'http://app.example.com' });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringContaining('REDIS_URL is required in production'),
        'SESSION_KEYS is required in production',
        expect.stringContaining('PUBLIC_URL must be https in production'),
      ]),
    );
  });

  it('accepts http PUBLIC_URL in production on loopback or when explicitly allowed', () => {
    const production = { ...base, NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:6379', SESSION_KEYS: key };
    expect(loadConfig({ ...production, PUBLIC_URL: 'http://localhost:3000' }).production).toBe(true);
    expect(loadConfig({ ...production, PUBLIC_URL: 'http://app.internal', ALLOW_INSECURE_PUBLIC_URL: 'true' }).production).toBe(true);
  });

  it('uses __Host- cookies when PUBLIC_URL is https', () => {
    expect(loadConfig({ ...base, PUBLIC_URL: 'https://app.example.com' }).secureCookies).toBe(true);
  });

  it('rejects short session keys and PUBLIC_URL with a path', () => {
    expect(configProblems({ ...base, SESSION_KEYS: `${key},short`, PUBLIC_URL: 'https://app.example.com/app' })).toEqual([
      'PUBLIC_URL must be an origin only (no path, query or fragment)',
      'SESSION_KEYS entries must be at least 32 bytes each',
    ]);
  });

  it('reports bad API_ROUTES entries with everything else, and gives routes the API_TIMEOUT_MS default', () => {
    expect(configProblems({ ...base, API_ROUTES: '/a=http://h#token=admin', SESSION_SAMESITE: 'none' })).toEqual([
      'SESSION_SAMESITE must be strict or lax',
      expect.stringContaining('"/a=http://h#token=admin": token must be one of'),
    ]);
    expect(
      loadConfig({ ...base, API_TIMEOUT_MS: '1234', API_ROUTES: '/a=http://h,/b=http://h#timeout=99' }).apiRoutes.map(
        (route) => route.timeoutMs,
      ),
    ).toEqual([1234, 99]);
  });

  it('refuses OIDC_AUTH_PARAMS that would override protocol parameters', () => {
    expect(configProblems({ ...base, OIDC_AUTH_PARAMS: 'prompt=consent&state=x' })).toEqual([
      'OIDC_AUTH_PARAMS must not set state (the BFF sets it)',
    ]);
  });

  it('reads METRICS_PORT and METRICS_HOST (default HOST), and refuses a METRICS_PORT equal to PORT', () => {
    expect(loadConfig(base).metrics).toEqual({ port: undefined, host: '127.0.0.1' });
    expect(loadConfig({ ...base, HOST: '0.0.0.0', METRICS_PORT: '9464' }).metrics).toEqual({ port: 9464, host: '0.0.0.0' });
    expect(loadConfig({ ...base, METRICS_PORT: '9464', METRICS_HOST: '10.0.0.5' }).metrics).toEqual({ port: 9464, host: '10.0.0.5' });
    expect(configProblems({ ...base, PORT: '8080', METRICS_PORT: '8080' })).toEqual([
      'METRICS_PORT must differ from PORT (/metrics gets a listener of its own)',
    ]);
    expect(configProblems({ ...base, METRICS_PORT: 'prometheus' })).toEqual([expect.stringContaining('METRICS_PORT')]);
  });

  it('refuses BFF_WORKERS above 1 without SESSION_KEYS (each worker would make its own key), in one line naming both', () => {
    const redis = { REDIS_URL: 'redis://127.0.0.1:6379' };
    expect(configProblems({ ...base, ...redis, BFF_WORKERS: '2' })).toEqual([
      expect.stringMatching(/^BFF_WORKERS above 1 needs SESSION_KEYS\b/),
    ]);
    expect(configProblems({ ...base, ...redis, BFF_WORKERS: '2', SESSION_KEYS: key })).toEqual([]);
    expect(configProblems({ ...base, ...redis, BFF_WORKERS: '1' })).toEqual([]);
  });
});

describe('configuration: hardening', () => {
  const production = {
    ...base,
    NODE_ENV: 'production',
    SESSION_KEYS: key,
    REDIS_URL: 'redis://127.0.0.1:6379',
    PUBLIC_URL: 'https://app.example.com',
  };

  it('refuses an http:// issuer in production unless it is loopback or explicitly allowed', () => {
    expect(configProblems({ ...production, OIDC_ISSUER: 'http://id.example.com' })).toEqual([
      expect.stringContaining('OIDC_ISSUER must be https in production'),
    ]);
    expect(configProblems({ ...production, OIDC_ISSUER: 'http://127.0.0.1:4001' })).toEqual([]);
    expect(configProblems({ ...production, OIDC_ISSUER: 'http://localhost:4001' })).toEqual([]);
    expect(configProblems({ ...production, OIDC_ISSUER: 'http://id.example.com', ALLOW_INSECURE_ISSUER: 'true' })).toEqual([]);
    expect(configProblems({ ...base, OIDC_ISSUER: 'http://id.example.com' })).toEqual([]); // development
  });

  it('reads TRUST_PROXY as a number of hops', () => {
    expect(loadConfig(base).trustedProxyHops).toBe(0);
    expect(loadConfig({ ...base, TRUST_PROXY: 'true' }).trustedProxyHops).toBe(1);
    expect(loadConfig({ ...base, TRUST_PROXY: '2' }).trustedProxyHops).toBe(2);
    expect(configProblems({ ...base, TRUST_PROXY: 'yes' })).toEqual([expect.stringContaining('TRUST_PROXY')]);
  });

  it('accepts extra forwarded headers but refuses any that carry credentials, routing or client-address claims', () => {
    expect(loadConfig({ ...base, API_FORWARD_HEADERS: 'X-Tenant, X-Api-Version' }).forwardHeaders).toEqual(['x-tenant', 'x-api-version']);
    for (const name of [
      'X-Forwarded-User',
      'X-Original-URL',
      'Authorization',
      'Cookie',
      'X-Forwarded-For',
      'Forwarded',
      'X-Real-IP',
      'X-HTTP-Method-Override',
      'X-Auth-Request-Email',
    ]) {
      expect(configProblems({ ...base, API_FORWARD_HEADERS: name }), name).toEqual([
        expect.stringContaining(`API_FORWARD_HEADERS: ${name} must never be forwarded`),
      ]);
    }
    expect(configProblems({ ...base, API_FORWARD_HEADERS: 'bad header' })).toEqual([expect.stringContaining('is not a header name')]);
  });

  it('reads OIDC_TIMEOUT_MS', () => {
    expect(loadConfig(base).oidcTimeoutMs).toBe(30000);
    expect(loadConfig({ ...base, OIDC_TIMEOUT_MS: '5000' }).oidcTimeoutMs).toBe(5000);
    expect(configProblems({ ...base, OIDC_TIMEOUT_MS: 'soon' })).toEqual([expect.stringContaining('OIDC_TIMEOUT_MS')]);
  });

  it("turns tracing on only with an OTLP endpoint, with OpenTelemetry's defaults and precedence", () => {
    expect(loadConfig(base).tracing).toBeUndefined();
    expect(loadConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' }).tracing).toEqual({
      url: 'http://127.0.0.1:4318/v1/traces',
      protocol: 'http/protobuf',
      serviceName: 'bff',
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
    });
    const traced = loadConfig({
      ...base,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/custom/traces',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'shop-bff',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    }).tracing;
    expect(traced).toEqual({
      url: 'http://collector:4318/custom/traces',
      protocol: 'http/json',
      serviceName: 'shop-bff',
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
    });
    expect(
      loadConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }).tracing,
    ).toBeUndefined();
    expect(
      configProblems({
        ...base,
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_TRACES_SAMPLER_ARG: '2',
      }),
    ).toEqual([
      'OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json (the BFF exports over OTLP/HTTP; grpc is not supported)',
      'OTEL_TRACES_SAMPLER_ARG must be between 0 and 1',
    ]);
  });
});
