import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { ApiRoute } from './api-routes.js';
import { unauthenticated } from './errors.js';
import type { SessionStore } from './session/sessions.js';
import { readPrivateKey, type PublicJwk, type SigningKey } from './signing-keys.js';
import type { TimedAccessToken } from './tokens.js';

/** An assertion's lifetime: short, since nothing can revoke it (SECURITY.md, replay window). */
export const ASSERTION_LIFETIME_SECONDS = 60;
/** A cached assertion is signed again once less than this is left of it. */
const RENEW_BEFORE_SECONDS = 10;
/** Assertions kept per instance (one per session and route in use); the oldest goes first. */
const MAX_CACHED = 10_000;

/** A random ES256 key for this process, when a route needs one and BFF_SIGNING_KEY is unset (development). */
export function randomAssertionKey(): SigningKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return readPrivateKey('assertion key', privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { allowed: ['ES256'] });
}

/**
 * Identity assertions for `token=assertion` routes (docs/token-exchange.md): instead of a
 * provider token the upstream gets a short JWT the BFF signs itself, for upstreams that trust the
 * BFF rather than the provider. It says who the user is and nothing else: `iss` (PUBLIC_URL's
 * origin), `aud` (the route's audience or the upstream's origin), `sub`, `iat`, `exp` (60 s),
 * `jti`, and the route's `claims` that the session has. Signed with BFF_SIGNING_KEY, whose public
 * half `/bff/jwks` publishes. One assertion per session and route is kept in memory and reused
 * until 10 s before it expires, so a busy session signs about once a minute per route.
 */
export class IdentityAssertions {
  readonly #cache = new Map<string, TimedAccessToken>();
  readonly #inflight = new Map<string, Promise<TimedAccessToken>>();
  readonly #issuer: string;

  constructor(
    private readonly deps: {
      sessions: Pick<SessionStore, 'readForUpdate' | 'whyEnded'>;
      key: SigningKey;
      /** PUBLIC_URL; the assertions' `iss` is its origin. */
      publicUrl: URL;
    },
  ) {
    this.#issuer = deps.publicUrl.origin;
  }

  /** The public key upstreams verify with (for `/bff/jwks`). */
  get publicJwk(): PublicJwk {
    return this.deps.key.publicJwk;
  }

  /**
   * The session's assertion for `route`: the cached one (no I/O) unless it is within 10 s of its
   * end or is `rejected` (an upstream refused it; the caller has checked the refusal cool-down),
   * else a new one, signed once however many calls ask at the same time.
   */
  token(sessionId: string, route: ApiRoute, rejected?: string): TimedAccessToken | Promise<TimedAccessToken> {
    const key = `${sessionId} ${route.prefix}`;
    const cached = this.#cache.get(key);
    if (cached && cached.accessExpiresAt - Date.now() / 1000 > RENEW_BEFORE_SECONDS && cached.accessToken !== rejected) return cached;
    let pending = this.#inflight.get(key);
    if (!pending) {
      pending = this.#sign(key, sessionId, route).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  async #sign(key: string, sessionId: string, route: ApiRoute): Promise<TimedAccessToken> {
    // The proxy's cached session carries no claims: the record is read (not slid) once per assertion.
    const current = await this.deps.sessions.readForUpdate(sessionId);
    if (current === null) throw unauthenticated(await this.deps.sessions.whyEnded(sessionId));
    const { sub, claims } = current.record;
    const chosen: Record<string, unknown> = {};
    for (const name of route.assertion!.claims) if (claims[name] !== undefined) chosen[name] = claims[name];
    const { privateKey, alg, kid } = this.deps.key;
    const now = Math.floor(Date.now() / 1000);
    const exp = now + ASSERTION_LIFETIME_SECONDS;
    const jwt = await new SignJWT(chosen)
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setIssuer(this.#issuer)
      .setAudience(route.assertion!.audience)
      .setSubject(sub)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(privateKey);
    const token: TimedAccessToken = { accessToken: jwt, accessExpiresAt: exp, accessLifetime: ASSERTION_LIFETIME_SECONDS };
    this.#cache.delete(key);
    if (this.#cache.size >= MAX_CACHED) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(key, token);
    return token;
  }
}
