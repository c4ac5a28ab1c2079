import type { Context } from 'koa';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { createDeps } from '../deps.js';
import { createLogger } from '../logger.js';
import { MemoryStore } from '../session/memory-store.js';
import { freshKeyPair } from '../tools/keys.js';
import { jwks } from './jwks.js';

const base = {
  OIDC_ISSUER: 'https://id.example.com',
  OIDC_CLIENT_ID: 'kit',
  OIDC_CLIENT_SECRET: 's3cret',
  API_ROUTES: '/api=http://api:4000',
};

/** The JWK set `GET /bff/jwks` answers for `env`, built as the app builds it. */
async function published(env: Record<string, string>) {
  const deps = createDeps(loadConfig({ ...base, ...env }), createLogger({ level: 'silent' }), { kv: new MemoryStore() });
  try {
    const ctx = {} as Context;
    await jwks(deps)(ctx);
    return (JSON.parse(ctx.body as string) as { keys: Record<string, string>[] }).keys;
  } finally {
    await deps.sync.stop();
  }
}

describe('GET /bff/jwks: the identity assertion keys', () => {
  it('publishes BFF_SIGNING_KEY (and a previous key) even before a route uses it, public members only', async () => {
    const [current, previous] = [freshKeyPair('es256'), freshKeyPair('eddsa')];
    expect(await published({ BFF_SIGNING_KEY: current.privateKey, BFF_SIGNING_KEY_PREVIOUS: previous.privateKey })).toEqual([
      JSON.parse(current.publicJwk),
      JSON.parse(previous.publicJwk),
    ]);
  });

  it('publishes nothing for assertions without a key and without a route', async () => {
    expect(await published({})).toEqual([]);
  });
});
