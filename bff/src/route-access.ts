/**
 * A route's access rules (docs/step-up.md): how recently and how strongly the user must have
 * authenticated (`acr`, `max_age`: RFC 9470 step-up) and which claims they must hold (`require`).
 * Parsed once with the rest of `API_ROUTES`; a route without these options has no rules at all
 * (`ApiRoute.access` undefined), so its calls pay one null check.
 */

/** One `require` option: the claim at `path` (dots reach into objects) holds `value`. */
export interface ClaimRule {
  path: readonly string[];
  value: string;
}

/** What a route asks of the signed-in user. */
export interface RouteAccess {
  /** Acceptable `acr` values: the session's ID token must carry one of them; undefined: any. */
  acr: readonly string[] | undefined;
  /** Seconds: the user authenticated (`auth_time`) at most this long ago; undefined: any time. */
  maxAge: number | undefined;
  /** Every rule must hold; a claim that is a list holds a value it contains. */
  require: readonly ClaimRule[];
}

// RFC 6749 §3.3's characters (printable ASCII but space, `"` and `\`), as acr values are written.
const ACR = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/;
const CLAIM_PATH = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const RULE_VALUE = /^[\x20-\x7e]+$/;
/** A year: a longer max_age asks nothing a session could fail. */
const MAX_AGE_LIMIT = 31_536_000;

/**
 * The access options of one entry (already decoded; `require` may repeat), or what is wrong with
 * them; undefined when the entry has none.
 */
export function parseAccess(options: { acr?: string; max_age?: string }, rules: readonly string[]): RouteAccess | string | undefined {
  if (options.acr === undefined && options.max_age === undefined && rules.length === 0) return undefined;
  if (options.acr !== undefined && !ACR.test(options.acr)) return 'acr must be space-separated acr values (+ or %20 between them)';
  let maxAge: number | undefined;
  if (options.max_age !== undefined) {
    maxAge = Number(options.max_age);
    if (!/^\d+$/.test(options.max_age) || maxAge < 1 || maxAge > MAX_AGE_LIMIT)
      return `max_age must be a whole number of seconds from 1 to ${MAX_AGE_LIMIT}`;
  }
  const require: ClaimRule[] = [];
  for (const rule of rules) {
    const colon = rule.indexOf(':');
    const path = rule.slice(0, colon);
    const value = rule.slice(colon + 1);
    if (colon < 1 || !CLAIM_PATH.test(path) || !RULE_VALUE.test(value))
      return `require must be name:value (a claim name, dots for nested claims; a printable value), got "${rule}"`;
    require.push({ path: path.split('.'), value });
  }
  return { acr: options.acr?.split(' '), maxAge, require };
}
