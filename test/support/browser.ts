/**
 * A tiny cookie-keeping HTTP client that behaves like one browser towards the BFF: it stores
 * cookies per origin (honouring Max-Age=0 deletion) and never follows redirects by itself.
 */
export class TestBrowser {
  readonly cookies = new Map<string, Map<string, string>>();

  /** `userAgent` is sent on every request that sets none itself (the BFF names devices from it). */
  constructor(readonly options: { userAgent?: string } = {}) {}

  cookieHeader(url: string): string | undefined {
    const jar = this.cookies.get(new URL(url).host);
    if (!jar || jar.size === 0) return undefined;
    return [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  cookie(url: string, name: string): string | undefined {
    return this.cookies.get(new URL(url).host)?.get(name);
  }

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader(url);
    if (cookie && !headers.has('cookie')) headers.set('cookie', cookie);
    if (this.options.userAgent && !headers.has('user-agent')) headers.set('user-agent', this.options.userAgent);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    const host = new URL(url).host;
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      const jar = this.cookies.get(host) ?? new Map<string, string>();
      this.cookies.set(host, jar);
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    return response;
  }

  /** A JSON call the way the SPA makes it (with `X-CSRF: 1`). */
  api(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (!headers.has('x-csrf')) headers.set('x-csrf', '1');
    return this.fetch(url, { ...init, headers });
  }
}
