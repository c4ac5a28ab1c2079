import type { Config } from '../config.js';

/** Session cookie and login cookie names for this deployment (`__Host-Http-` on https; see config-cookies.ts). */
export function cookieNames(config: Pick<Config, 'cookies'>) {
  return config.cookies;
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
