import { createHash } from 'node:crypto';
import type { RouteTokenPolicy } from '../../shared/src/index.js';
import { parseAccess, type RouteAccess } from './route-access.js';

/**
 * The `API_ROUTES` table: which path prefix goes to which upstream, and which token each route's
 * calls carry (docs/route-policies.md). Parsed once at start-up into {@link ApiRoute}s; the
 * proxy reads nothing else.
 *
 *     /api=http://api:4000
 *     /reports=http://reports:5000/v1#token=client&scope=reports.read
 *     /catalogue=http://catalogue:5000#token=user-or-none
 */

/** Who a route's calls speak for (the shared contract's type: `GET /bff/config` tells the SPA). */
export type TokenPolicy = RouteTokenPolicy;
const TOKEN_POLICIES: readonly TokenPolicy[] = ['user', 'user-or-none', 'client', 'user-or-client', 'none', 'exchange', 'assertion'];

/**
 * A token other than the plain one: issued for `resource` (RFC 8707) and/or with `scope`.
 * `id` names it in session records and caches: equal (resource, scope) pairs share one token.
 */
export interface TokenTarget {
  id: string;
  resource?: string;
  scope?: string;
  /** `token=exchange`: obtained by exchanging the sign-in token (RFC 8693), not with the refresh token. */
  exchange?: true;
  /** RFC 8693 `audience` of an exchange. */
  audience?: string;
}

/** What a `token=assertion` route's JWT says besides the subject (see identity-assertions.ts). */
export interface AssertionSpec {
  /** `aud`: the route's `audience`, else the upstream's origin. */
  audience: string;
  /** Session claims copied into the JWT when the session has them (default `email name`). */
  claims: readonly string[];
}

/** One `API_ROUTES` entry: requests under `prefix` go to `upstream` (which may carry a base path). */
export interface ApiRoute {
  prefix: string;
  upstream: URL;
  token: TokenPolicy;
  /** The route's own token identity; undefined means the sign-in token (user) or a plain client token. */
  target: TokenTarget | undefined;
  /** `token=assertion` only: the JWT the BFF signs for this route. */
  assertion?: AssertionSpec;
  /** WebSocket upgrades are accepted on this route. */
  websocket: boolean;
  /** This route's API_TIMEOUT_MS. */
  timeoutMs: number;
  /** What the signed-in user must satisfy (`acr`, `max_age`, `require`); undefined: nothing. */
  access?: RouteAccess;
}

/** The route needs the user's session: without one its calls are refused with 401. */
export const needsSession = (route: ApiRoute) => route.token === 'user' || route.token === 'exchange' || route.token === 'assertion';
/** The route uses the user's token whenever a session exists. */
export const usesSession = (route: ApiRoute) =>
  route.token === 'user' || route.token === 'user-or-none' || route.token === 'user-or-client' || needsSession(route);
/** Without a session, the route's calls carry the BFF's own client-credentials token. */
export const usesClientToken = (route: ApiRoute) => route.token === 'client' || route.token === 'user-or-client';

const PREFIX = /^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/;
// RFC 6749 §3.3: scope tokens are printable ASCII except space, `"` and `\`.
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/;
const MAX_TIMEOUT_MS = 3_600_000;
const OPTIONS = [
  'token',
  'resource',
  'scope',
  'websocket',
  'timeout',
  'audience',
  'claims',
  'acr',
  'max_age',
  'require',
  'anonymous',
] as const;
/** Options that may be given more than once (each occurrence is one more rule). */
const REPEATABLE: readonly Option[] = ['require'];
type Option = (typeof OPTIONS)[number];

/** Parses `API_ROUTES`; `problems` has one line per bad entry, each naming it. */
export function parseRoutes(value: string, defaultTimeoutMs: number): { routes: ApiRoute[]; problems: string[] } {
  const routes: ApiRoute[] = [];
  const problems: string[] = [];
  for (const entry of value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const parsed = parseEntry(entry, defaultTimeoutMs);
    if (typeof parsed === 'string') problems.push(`API_ROUTES entry "${entry}": ${parsed}`);
    else routes.push(parsed);
  }
  // Compared without case: the proxy refuses a path that selects another route once lower-cased,
  // so `/api` and `/API` together would make one of them unreachable.
  const prefixes = new Map<string, string>();
  for (const { prefix } of routes) {
    const seen = prefixes.get(prefix.toLowerCase());
    if (seen === prefix) problems.push(`API_ROUTES has ${prefix} twice`);
    else if (seen !== undefined) problems.push(`API_ROUTES has ${seen} and ${prefix}, which differ only in case`);
    prefixes.set(prefix.toLowerCase(), prefix);
  }
  // The longest matching prefix wins (`/api/admin` before `/api`), whatever the order written.
  routes.sort((a, b) => b.prefix.length - a.prefix.length);
  return { routes, problems };
}

/** One entry, or what is wrong with it. */
function parseEntry(entry: string, defaultTimeoutMs: number): ApiRoute | string {
  const at = entry.indexOf('=');
  const prefix = entry.slice(0, at).trim();
  const target = entry.slice(at + 1).trim();
  if (at < 1 || !PREFIX.test(prefix) || prefix.startsWith('/bff'))
    return 'needs a prefix like /api (letters, digits, -._~; not under /bff)';
  if (!URL.canParse(target) || !/^https?:$/.test(new URL(target).protocol)) return 'needs an http(s) upstream URL';
  const upstream = new URL(target);
  const rules: string[] = [];
  const options = readOptions(upstream.hash.slice(1), rules);
  upstream.hash = '';
  if (upstream.search || upstream.username || upstream.password) return 'no query or credentials in the upstream';
  if (typeof options === 'string') return options;

  let token: TokenPolicy = 'user';
  if (options.anonymous !== undefined) {
    if (options.anonymous !== '') return '#anonymous takes no value';
    if (options.token !== undefined) return '#anonymous is token=none; give one or the other';
    token = 'none';
  }
  if (options.token !== undefined) {
    if (!TOKEN_POLICIES.includes(options.token as TokenPolicy)) return `token must be one of ${TOKEN_POLICIES.join(', ')}`;
    token = options.token as TokenPolicy;
  }
  const { resource, scope } = options;
  if (resource !== undefined && !isResourceIndicator(resource)) return 'resource must be an absolute URI without a fragment (RFC 8707)';
  if (scope !== undefined && !SCOPE.test(scope)) return 'scope must be space-separated scope names (+ or %20 between them)';
  if (token === 'none' && (resource !== undefined || scope !== undefined)) return 'token=none takes no resource or scope';
  const identity = identityOptionsProblem(token, options);
  if (identity !== undefined) return identity;
  if (options.websocket !== undefined && options.websocket !== 'true' && options.websocket !== 'false')
    return 'websocket must be true or false';
  let timeoutMs = defaultTimeoutMs;
  if (options.timeout !== undefined) {
    timeoutMs = Number(options.timeout);
    if (!/^\d+$/.test(options.timeout) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS)
      return `timeout must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`;
  }
  const access = parseAccess(options, rules);
  if (typeof access === 'string') return access;
  if (access && token !== 'user') return 'acr, max_age and require need token=user (they judge the signed-in user)';
  return {
    prefix,
    upstream,
    token,
    target:
      token === 'exchange'
        ? exchangeTarget(options)
        : resource === undefined && scope === undefined
          ? undefined
          : tokenTarget(resource, scope),
    ...(token === 'assertion' ? { assertion: assertionSpec(options, upstream) } : {}),
    websocket: options.websocket === 'true',
    timeoutMs,
    access,
  };
}

/**
 * The options after `#`, decoded like a query string; unknown, repeated or empty ones are refused.
 * The values of REPEATABLE options go to `repeated`, in order.
 */
function readOptions(fragment: string, repeated: string[]): Partial<Record<Option, string>> | string {
  const options: Partial<Record<Option, string>> = {};
  for (const [name, value] of new URLSearchParams(fragment)) {
    if (!OPTIONS.includes(name as Option)) return `unknown option "${name}" (options: ${OPTIONS.slice(0, -1).join(', ')})`;
    if (REPEATABLE.includes(name as Option)) {
      if (value === '') return `option ${name} needs a value`;
      repeated.push(value);
      continue;
    }
    if (options[name as Option] !== undefined) return `option ${name} given twice`;
    if (value === '' && name !== 'anonymous') return `option ${name} needs a value`;
    options[name as Option] = value;
  }
  return options;
}

function isResourceIndicator(value: string): boolean {
  return URL.canParse(value) && !value.includes('#');
}

function tokenTarget(resource: string | undefined, scope: string | undefined): TokenTarget {
  // Short: the id is stored in every session record that holds this route's token.
  const id = createHash('sha256')
    .update(`${resource ?? ''}\n${scope ?? ''}`)
    .digest('base64url')
    .slice(0, 12);
  return { id, ...(resource === undefined ? {} : { resource }), ...(scope === undefined ? {} : { scope }) };
}

// An RFC 8693 audience or a claim name: printable ASCII without spaces, quotes or backslashes.
const NAME = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** Claims the BFF itself sets in an assertion: a route cannot ask for them. */
const RESERVED_CLAIMS = new Set(['iss', 'aud', 'sub', 'iat', 'exp', 'nbf', 'jti', 'cnf']);
const DEFAULT_ASSERTION_CLAIMS = ['email', 'name'];

/**
 * What is wrong with a route's `audience` and `claims` for its policy (token exchange and
 * identity assertions, docs/token-exchange.md), or undefined.
 */
function identityOptionsProblem(token: TokenPolicy, options: Partial<Record<Option, string>>): string | undefined {
  const { audience, claims, resource, scope } = options;
  if (audience !== undefined && token !== 'exchange' && token !== 'assertion')
    return 'audience is only for token=exchange or token=assertion';
  if (claims !== undefined && token !== 'assertion') return 'claims is only for token=assertion';
  if (audience !== undefined && !NAME.test(audience)) return 'audience must be one name or URI without spaces';
  if (token === 'exchange' && audience === undefined && resource === undefined)
    return 'token=exchange needs an audience or a resource to exchange the token for';
  if (token === 'assertion' && (resource !== undefined || scope !== undefined))
    return 'token=assertion takes no resource or scope (the BFF signs the token itself)';
  if (claims !== undefined) {
    const names = claims.split(' ');
    if (!names.every((name) => NAME.test(name))) return 'claims must be space-separated claim names (+ or %20 between them)';
    const reserved = names.find((name) => RESERVED_CLAIMS.has(name));
    if (reserved !== undefined) return `claims cannot include ${reserved} (the BFF sets it)`;
  }
  return undefined;
}

/**
 * The token identity of an exchange route: its own id space (the `exchange` line), so an
 * exchanged token never serves a per-resource route with the same resource and scope, or back.
 */
function exchangeTarget({ audience, resource, scope }: Partial<Record<Option, string>>): TokenTarget {
  const id = createHash('sha256')
    .update(`exchange\n${audience ?? ''}\n${resource ?? ''}\n${scope ?? ''}`)
    .digest('base64url')
    .slice(0, 12);
  return {
    id,
    exchange: true,
    ...(audience === undefined ? {} : { audience }),
    ...(resource === undefined ? {} : { resource }),
    ...(scope === undefined ? {} : { scope }),
  };
}

function assertionSpec({ audience, claims }: Partial<Record<Option, string>>, upstream: URL): AssertionSpec {
  return {
    audience: audience ?? upstream.origin,
    claims: claims === undefined ? DEFAULT_ASSERTION_CLAIMS : [...new Set(claims.split(' '))],
  };
}
