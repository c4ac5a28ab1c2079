import { LOGIN_COOKIE, SESSION_COOKIE } from '../../shared/src/index.js';

/**
 * Cookie names and the rules of their prefixes (RFC 6265bis; RFC 10017 asks for `__Host-Http-`
 * on the session cookie). A browser silently drops a prefixed cookie whose attributes break its
 * prefix's rules: every sign-in would then fail without an error. So the BFF refuses to start with
 * such a setting instead (as Duende BFF does for `__Host-`).
 */

/** The attributes a cookie is set with, as far as the prefix rules look at them. */
export interface CookieAttributes {
  secure: boolean;
  httpOnly: boolean;
  path: string;
  domain?: string;
}

/** Each prefix (matched case-insensitively, as browsers do) and what it demands; longest first. */
const PREFIX_RULES: ReadonlyArray<{ prefix: string; hostOnly: boolean; httpOnly: boolean }> = [
  { prefix: '__Host-Http-', hostOnly: true, httpOnly: true },
  { prefix: '__Host-', hostOnly: true, httpOnly: false },
  { prefix: '__Http-', hostOnly: false, httpOnly: true },
  { prefix: '__Secure-', hostOnly: false, httpOnly: false },
];

/** RFC 6265's cookie-name token: visible ASCII without separators. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** What is wrong with setting cookie `name` with `attributes`, one line per broken rule (empty: fine). */
export function cookiePrefixProblems(variable: string, name: string, attributes: CookieAttributes): string[] {
  if (!COOKIE_NAME.test(name)) return [`${variable}: "${name}" is not a cookie name`];
  const rule = PREFIX_RULES.find(({ prefix }) => name.toLowerCase().startsWith(prefix.toLowerCase()));
  if (!rule) return [];
  const broken = (what: string) => `${variable}: a ${rule.prefix} cookie ${what}`;
  return [
    ...(attributes.secure ? [] : [broken('needs Secure, which the BFF sets only when PUBLIC_URL is https')]),
    ...(rule.hostOnly && attributes.path !== '/' ? [broken('needs Path=/')] : []),
    ...(rule.hostOnly && attributes.domain !== undefined ? [broken('must not carry a Domain')] : []),
    ...(rule.httpOnly && !attributes.httpOnly ? [broken('needs HttpOnly')] : []),
  ];
}

/**
 * The session and login cookie names for this deployment: `__Host-Http-` prefixed on https,
 * plain on http (local development); `SESSION_COOKIE_NAME` overrides the session cookie's (to keep
 * `__Host-bff` during a migration, or to run two apps on one host).
 */
export function cookieNamesFor(secure: boolean, sessionCookieName: string | undefined): { session: string; login: string } {
  const variant = secure ? 'secure' : 'insecure';
  return { session: sessionCookieName || SESSION_COOKIE[variant], login: LOGIN_COOKIE[variant] };
}

/** Problems with the cookie settings: both cookies are set HttpOnly, Path=/, no Domain, Secure on https. */
export function cookieProblems(secure: boolean, sessionCookieName: string | undefined): string[] {
  const attributes: CookieAttributes = { secure, httpOnly: true, path: '/' };
  const names = cookieNamesFor(secure, sessionCookieName);
  return [
    ...cookiePrefixProblems('SESSION_COOKIE_NAME', names.session, attributes),
    ...cookiePrefixProblems('the login cookie', names.login, attributes),
    ...(names.session === names.login ? [`SESSION_COOKIE_NAME must differ from the login cookie's name (${names.login})`] : []),
  ];
}
