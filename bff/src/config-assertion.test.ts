import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { BASE_ENV, configProblems } from '../../test/support/config-problems.js';
import { freshKeyPair } from './tools/keys.js';

const base = BASE_ENV;
const production = { ...base, NODE_ENV: 'production', REDIS_URL: 'redis://r:6379', SESSION_KEYS: 'k'.repeat(32) };
const ASSERTION_ROUTES = '/api=http://api:4000,/inner=http://inner:7000#token=assertion';

describe('configuration: the identity assertion key', () => {
  it('is required in production when a route has token=assertion, and only then', () => {
    expect(configProblems({ ...production, API_ROUTES: ASSERTION_ROUTES })).toEqual([
      'BFF_SIGNING_KEY is required in production when a route has token=assertion',
    ]);
    expect(configProblems({ ...production, API_ROUTES: '/api=http://api:4000' })).toEqual([]);
    const key = freshKeyPair('eddsa');
    const config = loadConfig({ ...production, API_ROUTES: ASSERTION_ROUTES, BFF_SIGNING_KEY: key.oneLine });
    expect(config.assertion).toMatchObject({ needed: true, key: { alg: 'EdDSA', publicJwk: JSON.parse(key.publicJwk) } });
  });

  it('may be left out in development (a random key per process), not with several workers', () => {
    expect(configProblems({ ...base, API_ROUTES: ASSERTION_ROUTES })).toEqual([]);
    expect(
      configProblems({
        ...base,
        API_ROUTES: ASSERTION_ROUTES,
        BFF_WORKERS: '2',
        REDIS_URL: 'redis://r:6379',
        SESSION_KEYS: 'k'.repeat(32),
      }),
    ).toEqual([expect.stringContaining('BFF_SIGNING_KEY is required when a route has token=assertion and BFF_WORKERS is above 1')]);
  });

  it('takes ES256 and EdDSA keys only, and a previous key only beside a current one', () => {
    expect(configProblems({ ...base, BFF_SIGNING_KEY: freshKeyPair('rs256').privateKey })).toEqual([
      expect.stringContaining('BFF_SIGNING_KEY is a RS256 key; this use takes ES256 or EdDSA only'),
    ]);
    const key = freshKeyPair('es256').privateKey;
    expect(configProblems({ ...base, BFF_SIGNING_KEY_PREVIOUS: key })).toEqual(['BFF_SIGNING_KEY_PREVIOUS is set without BFF_SIGNING_KEY']);
    expect(configProblems({ ...base, BFF_SIGNING_KEY: key, BFF_SIGNING_KEY_PREVIOUS: key })).toEqual([
      'BFF_SIGNING_KEY_PREVIOUS is the same key as BFF_SIGNING_KEY',
    ]);
  });

  it.each(['es256', 'eddsa'])('npm run keys %s prints a BFF_SIGNING_KEY and the public JWK /bff/jwks will publish', (kind) => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'bff/src/tools/keys.ts', kind], { encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('BFF_SIGNING_KEY');
    const pem = /-----BEGIN PRIVATE KEY-----[^]*?-----END PRIVATE KEY-----/.exec(result.stdout)![0];
    const jwk = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Record<string, string>;
    expect(loadConfig({ ...production, API_ROUTES: ASSERTION_ROUTES, BFF_SIGNING_KEY: pem }).assertion.key!.publicJwk).toEqual(jwk);
  });

  it('refuses to start in production without it: exit 1, naming the variable', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'bff/src/main.ts'], {
      env: { PATH: process.env.PATH, ...production, API_ROUTES: ASSERTION_ROUTES, LOG_LEVEL: 'silent' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr.split('\n').filter((line) => line.startsWith('  - '))).toEqual([
      '  - BFF_SIGNING_KEY is required in production when a route has token=assertion',
    ]);
  });
});
