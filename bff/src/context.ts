import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { OidcClient } from './oidc/client.js';
import type { KeyValueStore } from './session/kv.js';
import type { SessionSync } from './session/session-sync.js';
import type { SessionStore } from './session/sessions.js';
import type { HotSessions } from './session/hot-sessions.js';
import type { LoginTransactions } from './session/login-transactions.js';
import type { LogoutTokenLedger } from './session/logout-tokens.js';
import type { TokenVault } from './session/vault.js';
import type { ClientTokens } from './oidc/client-tokens.js';
import type { SessionTokens } from './oidc/session-tokens.js';
import type { Tracing } from './tracing/tracing.js';
import type { DpopProofs } from './proxy/dpop.js';

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
  /** Keeps the session caches of all instances exact (pub/sub). */
  sync: SessionSync;
  vault: TokenVault;
  oidc: OidcClient;
  sessionTokens: SessionTokens;
  clientTokens: ClientTokens;
  /** DPoP proofs for upstream calls (RFC 9449), with OIDC_DPOP=true; undefined otherwise. */
  dpop: DpopProofs | undefined;
  metrics: Metrics;
  /** OpenTelemetry hooks; undefined when tracing is off (every hook is then skipped). */
  tracing?: Tracing;
}
