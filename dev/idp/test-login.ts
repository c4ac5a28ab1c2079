import { createCookieJar, type CookieJar } from './cookie-jar.js';

export { createCookieJar, type CookieJar };

/** Credentials to type into the dev provider's sign-in form. */
export interface LoginCredentials {
  username: string;
  password: string;
}

export interface LoginOptions {
  /** Press Deny on the consent page, so the client gets `error=access_denied`. */
  deny?: boolean;
  /**
   * Provider cookies to use and keep, e.g. to sign in again within the same provider session or
   * to sign out at its end_session endpoint afterwards. Default: a fresh jar per call.
   */
  cookies?: CookieJar;
}

/** Enough for login, consent and the redirects between them, with room to spare. */
const MAX_STEPS = 20;

const decodeEntities = (value: string) =>
  value.replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');

/** The `action` URLs of the POST forms on a page, resolved against the page URL. */
function formActions(page: string, base: URL): URL[] {
  return [...page.matchAll(/<form\b[^>]*\baction="([^"]*)"[^>]*>/g)].map((match) => new URL(decodeEntities(match[1]!), base));
}

/**
 * Signs in at the dev provider the way a browser would, by plain HTTP: starting from an
 * authorization URL it follows the provider's redirects with its cookies, submits the sign-in
 * form, the one-time code when a step-up asks for it (the page shows the demo code), then Allow
 * (or Deny) on the consent page, and returns the first redirect that leaves the
 * provider's origin: the client's redirect_uri with `code` and `state` (or `error`).
 *
 * Unless given `opts.cookies`, it has its own cookie jar, so every call is a fresh browser
 * without a provider session. It never requests the returned URL. Throws when the credentials are refused or a page is not
 * what it expects.
 */
export async function loginThroughIdp(authorizationUrl: string, user: LoginCredentials, opts: LoginOptions = {}): Promise<string> {
  const providerOrigin = new URL(authorizationUrl).origin;
  const jar = opts.cookies ?? createCookieJar();
  let url = new URL(authorizationUrl);
  let body: URLSearchParams | undefined;
  let submittedLogin = false;

  for (let step = 0; step < MAX_STEPS; step++) {
    const response = await request(jar, url, body);
    body = undefined;

    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      const next = new URL(location, url);
      if (next.origin !== providerOrigin) return next.href;
      url = next;
      continue;
    }

    const page = await response.text();
    if (response.status !== 200) throw new Error(`dev provider answered ${response.status} at ${url.pathname}: ${page.slice(0, 500)}`);
    const actions = formActions(page, url);
    const find = (suffix: string) => actions.find((action) => action.pathname.endsWith(suffix));
    const login = find('/login');
    const confirm = find('/confirm');
    const abort = find('/abort');
    const code = find('/code');

    if (login) {
      if (submittedLogin) {
        const message = /id="login-error">([^<]*)</.exec(page)?.[1];
        throw new Error(
          `dev provider refused the sign-in of ${user.username}: ${message ? decodeEntities(message) : 'login page shown again'}`,
        );
      }
      submittedLogin = true;
      url = login;
      body = new URLSearchParams({ username: user.username, password: user.password });
    } else if (code) {
      if (page.includes('id="code-error"')) throw new Error('dev provider refused the one-time code');
      url = code;
      body = new URLSearchParams({ code: /id="demo-code">(\d{6})</.exec(page)?.[1] ?? '' });
    } else if (confirm && abort) {
      url = opts.deny ? abort : confirm;
      body = new URLSearchParams();
    } else {
      throw new Error(`unexpected page from the dev provider at ${url.pathname}: ${page.slice(0, 500)}`);
    }
  }
  throw new Error(`no redirect out of the dev provider after ${MAX_STEPS} steps`);
}

/** One request with the jar's cookies, never following redirects; stores the answer's cookies. */
async function request(jar: CookieJar, url: URL, body: URLSearchParams | undefined): Promise<Response> {
  const headers: Record<string, string> = { accept: 'text/html' };
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  const response = await fetch(url, body ? { method: 'POST', headers, body, redirect: 'manual' } : { headers, redirect: 'manual' });
  jar.store(url, response.headers.getSetCookie());
  return response;
}
