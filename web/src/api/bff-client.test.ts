import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, addNote, getUser, loginUrl, onUnauthorized, request } from './bff-client.js';

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('bff client', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('always sends X-CSRF: 1 with same-origin credentials', async () => {
    const fetchMock = vi.fn(async () => json(200, { sub: 'u' }));
    vi.stubGlobal('fetch', fetchMock);
    await getUser();
    const [path, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(path).toBe('/bff/user');
    expect(new Headers(init.headers).get('x-csrf')).toBe('1');
    expect(init.credentials).toBe('same-origin');
  });

  it('sends JSON bodies with a content type', async () => {
    const fetchMock = vi.fn(async () => json(201, { id: '1', text: 'hi', createdAt: 1 }));
    vi.stubGlobal('fetch', fetchMock);
    expect(await addNote('hi')).toEqual({ id: '1', text: 'hi', createdAt: 1 });
    const [, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(init.method).toBe('POST');
    expect(init.body).toBe('{"text":"hi"}');
    expect(new Headers(init.headers).get('content-type')).toBe('application/json');
  });

  it('turns error bodies into ApiError with the BFF code and message', async () => {
    const failing = request('/x', {}, async () => json(503, { error: 'unavailable', message: 'Try later.' }));
    await expect(failing).rejects.toEqual(new ApiError(503, 'unavailable', 'Try later.'));
    const html = request('/x', {}, async () => new Response('<html>bad gateway</html>', { status: 502 }));
    await expect(html).rejects.toMatchObject({ status: 502, code: 'http_error', message: 'The request failed (502).' });
    const offline = request('/x', {}, async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(offline).rejects.toMatchObject({ status: 0, code: 'network' });
  });

  it('tells listeners about 401 so the app can sign out', async () => {
    const seen: ApiError[] = [];
    const stop = onUnauthorized((error) => seen.push(error));
    await expect(request('/api/notes', {}, async () => json(401, { error: 'unauthenticated', message: 'Sign in.' }))).rejects.toBeInstanceOf(ApiError);
    stop();
    await expect(request('/api/notes', {}, async () => json(401, { error: 'unauthenticated', message: 'Sign in.' }))).rejects.toBeInstanceOf(ApiError);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.code).toBe('unauthenticated');
  });

  it('builds the login URL with an encoded returnTo', () => {
    expect(loginUrl('/notes?tab=a b')).toBe('/bff/login?returnTo=%2Fnotes%3Ftab%3Da%20b');
  });
});
