import { LOGIN_COOKIE, SESSION_COOKIE } from '../../../shared/src/index.js';
import type { Config } from '../config.js';

/** Session cookie and login cookie names for this deployment (`__Host-` on https). */
export function cookieNames(config: Pick<Config, 'secureCookies'>) {
  const variant = config.secureCookies ? 'secure' : 'insecure';
  return { session: SESSION_COOKIE[variant], login: LOGIN_COOKIE[variant] };
}
