import { LOGIN_COOKIE, SESSION_COOKIE } from '../../shared/src/index.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { OidcProvider } from './oidc/provider.js';
import type { KeyValueStore } from './session/kv.js';
import type { SessionStore } from './session/sessions.js';
import type { TokenVault } from './session/vault.js';
import type { TokenService } from './oidc/tokens.js';

/** Everything the app is built from; `createApp(deps)` wires routes to these and opens nothing itself. */
export interface Deps {
  config: Config;
  log: Logger;
  kv: KeyValueStore;
  sessions: SessionStore;
  vault: TokenVault;
  oidc: OidcProvider;
  tokens: TokenService;
  metrics: Metrics;
}

/** Session cookie and login cookie names for this deployment (`__Host-` on https). */
export function cookieNames(config: Config) {
  const variant = config.secureCookies ? 'secure' : 'insecure';
  return { session: SESSION_COOKIE[variant], login: LOGIN_COOKIE[variant] };
}

/** Parameters sent on the code exchange and every refresh (RFC 8707 `resource`, when configured). */
export function tokenEndpointParams(config: Config): Record<string, string> {
  const resource = config.authParams.get('resource');
  return resource ? { resource } : {};
}
