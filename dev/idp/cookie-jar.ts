/** One stored cookie; the jar is for a single origin, so the domain is not tracked. */
interface StoredCookie {
  name: string;
  value: string;
  path: string;
  /** Epoch milliseconds; undefined for a session cookie. */
  expiresAt: number | undefined;
}

/** A minimal cookie store for one origin, as a test client driving a provider by HTTP needs it. */
export interface CookieJar {
  /** Stores the cookies of a response to `url`. */
  store(url: URL, setCookieHeaders: string[]): void;
  /** The Cookie header for a request to `url`, or undefined when no cookie applies. */
  header(url: URL): string | undefined;
}

/** The default cookie path for a request path (RFC 6265 section 5.1.4). */
function defaultPath(pathname: string): string {
  const slash = pathname.lastIndexOf('/');
  return slash <= 0 ? '/' : pathname.slice(0, slash);
}

/** Whether a cookie with path `cookiePath` goes with a request to `pathname` (RFC 6265 5.1.4). */
function pathMatches(cookiePath: string, pathname: string): boolean {
  if (pathname === cookiePath) return true;
  if (!pathname.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || pathname[cookiePath.length] === '/';
}

function parse(url: URL, header: string, now: number): StoredCookie | undefined {
  const [pair = '', ...attributes] = header.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return undefined;
  const cookie: StoredCookie = {
    name: pair.slice(0, eq).trim(),
    value: pair.slice(eq + 1).trim(),
    path: defaultPath(url.pathname),
    expiresAt: undefined,
  };
  let maxAge: number | undefined;
  for (const attribute of attributes) {
    const [rawKey = '', ...rest] = attribute.split('=');
    const key = rawKey.trim().toLowerCase();
    const value = rest.join('=').trim();
    if (key === 'path' && value.startsWith('/')) cookie.path = value;
    else if (key === 'max-age' && /^-?\d+$/.test(value)) maxAge = Number(value);
    else if (key === 'expires' && cookie.expiresAt === undefined) {
      const time = Date.parse(value);
      if (!Number.isNaN(time)) cookie.expiresAt = time;
    }
  }
  // Max-Age wins over Expires.
  if (maxAge !== undefined) cookie.expiresAt = now + maxAge * 1000;
  return cookie;
}

/** Creates an empty cookie jar. */
export function createCookieJar(): CookieJar {
  const cookies = new Map<string, StoredCookie>();
  const keyOf = (cookie: Pick<StoredCookie, 'name' | 'path'>) => `${cookie.path}\n${cookie.name}`;
  return {
    store(url, setCookieHeaders) {
      const now = Date.now();
      for (const header of setCookieHeaders) {
        const cookie = parse(url, header, now);
        if (!cookie) continue;
        // An expiry in the past is how servers delete a cookie.
        if (cookie.expiresAt !== undefined && cookie.expiresAt <= now) cookies.delete(keyOf(cookie));
        else cookies.set(keyOf(cookie), cookie);
      }
    },
    header(url) {
      const now = Date.now();
      const matching = [...cookies.values()]
        .filter((cookie) => (cookie.expiresAt === undefined || cookie.expiresAt > now) && pathMatches(cookie.path, url.pathname))
        // Longer paths first, as browsers send them.
        .sort((a, b) => b.path.length - a.path.length);
      return matching.length ? matching.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ') : undefined;
    },
  };
}
