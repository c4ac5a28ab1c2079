import { LOGIN_COOKIE, SESSION_COOKIE } from '../../../shared/src/index.js';
import type { Config } from '../config.js';

/** Session cookie and login cookie names for this deployment (`__Host-` on https). */
export function cookieNames(config: Pick<Config, 'secureCookies'>) {
  const variant = config.secureCookies ? 'secure' : 'insecure';
  return { session: SESSION_COOKIE[variant], login: LOGIN_COOKIE[variant] };
}

/**
 * Reads one cookie from a Cookie header without parsing the rest (the proxy's hot path).
 * Returns undefined when absent or when the name appears more than once (ambiguous).
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let found: string | undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at === -1 || part.slice(0, at).trim() !== name) continue;
    if (found !== undefined) return undefined;
    found = part.slice(at + 1).trim();
  }
  return found;
}
