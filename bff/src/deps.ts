import { randomBytes } from 'node:crypto';
import type { Config } from './config.js';
import { IdentityAssertions, randomAssertionKey } from './identity-assertions.js';
import type { Logger } from './logger.js';
import { createMetrics, registerReadiness, type Metrics } from './metrics.js';
import { OidcClient } from './oidc/client.js';
import { ClientTokens } from './oidc/client-tokens.js';
import { SessionTokens } from './oidc/session-tokens.js';
import { DpopProofs, randomDpopKey } from './proxy/dpop.js';
import type { KeyValueStore } from './session/kv.js';
import { MemoryStore } from './session/memory-store.js';
import { RedisStore, connectRedis } from './session/redis-store.js';
import { HotSessions } from './session/hot-sessions.js';
import { LoginTransactions } from './session/login-transactions.js';
import { LogoutTokenLedger } from './session/logout-tokens.js';
import { SessionCache, type SessionCacheLimits } from './session/session-cache.js';
import { SessionSync } from './session/session-sync.js';
import { SessionStore } from './session/sessions.js';
import { StartupClaims } from './session/startup-claims.js';
import { TokenVault } from './session/vault.js';
import { Transmitter } from './ssf/transmitter.js';
import { tracedStore } from './tracing/traced-store.js';
import type { Tracing } from './tracing/tracing.js';

/**
 * The composition root: `createDeps` builds every stateful service from the configuration, once,
 * and `Deps` names them. Handlers take only what they use (`Pick<Deps, 'sessions' | 'log'>`, a
 * type-only import: nothing of this file runs in them); nothing below this file imports it at run time.
 */

/** Everything the app is built from; `createApp(deps)` wires routes to these and opens nothing itself. */
export interface Deps {
  config: Config;
  log: Logger;
  kv: KeyValueStore;
  sessions: SessionStore;
  /** The proxy's sessions: this instance's cache, read through `sessions`. */
  hotSessions: HotSessions;
  loginTransactions: LoginTransactions;
  /** Back-channel logout tokens already used. */
  logoutTokens: LogoutTokenLedger;
  /** Security Event Tokens (Shared Signals) already used. */
  setLedger: LogoutTokenLedger;
  /** Start-up work one instance does for all (the Shared Signals stream registration). */
  startupClaims: StartupClaims;
  /** The Shared Signals transmitter (SSF_ISSUER); undefined when it is not set. */
  transmitter: Transmitter | undefined;
  /** Keeps the session caches of all instances exact (pub/sub). */
  sync: SessionSync;
  vault: TokenVault;
  oidc: OidcClient;
  sessionTokens: SessionTokens;
  clientTokens: ClientTokens;
  /** DPoP proofs for upstream calls (RFC 9449), with OIDC_DPOP=true; undefined otherwise. */
  dpopProofs: DpopProofs | undefined;
  /** The signer of `token=assertion` routes' JWTs; undefined when no route has that policy. */
  identityAssertions: IdentityAssertions | undefined;
  metrics: Metrics;
  /** OpenTelemetry hooks; undefined when tracing is off (every hook is then skipped). */
  tracing?: Tracing;
}

/** Memory bound of the session cache (about 25,000 typical records). */
const SESSION_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * Builds the dependencies from configuration: the store (Redis or memory), the vault, the
 * provider handle (discovery starts in the background) and the token service.
 */
/** What tests (and the bench) may set besides the configuration. */
export interface DepsOptions {
  kv?: KeyValueStore;
  metrics?: Metrics;
  refreshLockMs?: number;
  sessionCache?: Partial<SessionCacheLimits>;
  /** Started by the caller (see startTracing: loading the SDK is asynchronous); none: tracing off. */
  tracing?: Tracing;
}

export function createDeps(config: Config, log: Logger, options: DepsOptions = {}): Deps {
  const { tracing } = options;
  const store = options.kv ?? (config.redisUrl ? new RedisStore(connectRedis(config.redisUrl)) : new MemoryStore());
  // Redis commands become spans only when tracing is on: otherwise the store is not wrapped at all.
  const kv = tracing && store instanceof RedisStore ? tracedStore(store, tracing) : store;
  if (!config.redisUrl && !options.kv)
    log.warn('REDIS_URL is not set: sessions are kept in memory (development only; lost on restart, not shared)');
  let secrets = config.sessionKeys;
  if (secrets.length === 0) {
    log.warn('SESSION_KEYS is not set: using a random key for this process (development only)');
    secrets = [randomBytes(32).toString('base64url')];
  }
  const vault = new TokenVault(secrets);
  // An entry is served for min(60 s, a tenth of the idle timeout) after the read that slid it.
  const cache = new SessionCache(
    { entries: config.sessionCacheEntries, bytes: SESSION_CACHE_BYTES, ...options.sessionCache },
    Math.min(60_000, config.idleTimeout * 100),
  );
  const sync = new SessionSync(kv, cache, log);
  void sync.start();
  const sessions = new SessionStore(
    kv,
    { idleSeconds: config.idleTimeout, absoluteSeconds: config.absoluteTimeout, refreshLockMs: options.refreshLockMs },
    secrets,
    sync,
    config.issuer.href,
  );
  let dpopKey = config.dpop.key;
  if (config.dpop.enabled && !dpopKey) {
    // Tokens are bound to this key: another instance, or this one after a restart, cannot use them.
    log.warn(
      'OIDC_DPOP=true without DPOP_PRIVATE_KEY: using a random DPoP key for this process (development only; instances cannot share tokens)',
    );
    dpopKey = randomDpopKey();
  }
  const oidc = new OidcClient(config, log, dpopKey);
  const metrics = options.metrics ?? createMetrics(cache);
  if (!options.metrics) registerReadiness(metrics.registry, kv, oidc);
  const sessionTokens = new SessionTokens({ config, sessions, vault, oidc, log, metrics, tracing });
  // The proxy's session cache, made after both services it calls: it reads through the store
  // (which neither caches nor decrypts) and decrypts with sessionTokens.hotOf (sessionTokens
  // needs the store). This order has no cycle, so no closure refers to a later const.
  const hotSessions = new HotSessions(sessions, cache, (record) => sessionTokens.hotOf(record, cache.off));
  const clientTokens = new ClientTokens({ oidc, log, metrics, tracing });
  const dpopProofs = dpopKey ? new DpopProofs(dpopKey) : undefined;
  // Published in /bff/jwks whenever the key is set (so upstreams can learn it before a route uses it).
  const identityAssertions =
    config.assertion.needed || config.assertion.key
      ? new IdentityAssertions({ sessions, key: assertionKey(config, log), publicUrl: config.publicUrl })
      : undefined;
  return {
    config,
    log,
    kv,
    sessions,
    hotSessions,
    loginTransactions: new LoginTransactions(kv),
    logoutTokens: new LogoutTokenLedger(kv),
    setLedger: new LogoutTokenLedger(kv, 'set'),
    startupClaims: new StartupClaims(kv),
    transmitter: config.ssf ? new Transmitter(config.ssf, config.oidcTimeoutMs) : undefined,
    sync,
    vault,
    oidc,
    sessionTokens,
    clientTokens,
    dpopProofs,
    identityAssertions,
    metrics,
    tracing,
  };
}

/** BFF_SIGNING_KEY, or in development a random key for this process (config refuses that in production). */
function assertionKey(config: Config, log: Logger) {
  if (config.assertion.key) return config.assertion.key;
  log.warn(
    'a route has token=assertion but BFF_SIGNING_KEY is not set: using a random key for this process (development only; upstreams must fetch /bff/jwks again after a restart)',
  );
  return randomAssertionKey();
}
