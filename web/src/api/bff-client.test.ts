import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, describeError, getUser, loginUrl, onUnauthorized, request } from './bff-client.js';

const USER = {
  sub: 'u',
  claims: {},
  session: { expiresAt: 2_000_000_000, idleExpiresAt: 1_900_000_000, idleTimeout: 1800 },
  logoutUrl: '/bff/logout?sid=s',
};

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** Stubs globalThis.fetch with a function answering `response`, and returns the mock. */
function stubFetch(response: () => Response | Promise<Response>) {
  const fetchMock = vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) => response());
  vi.stubGlobal('fetch', fetchMock);
  return fetchMock;
}

function callOf(fetchMock: ReturnType<typeof stubFetch>, index = 0) {
  const [path, init] = fetchMock.mock.calls[index]!;
  return { path, init: init!, headers: new Headers(init!.headers) };
}

/** Calls shaped like an app's API module (kept here so these tests do not depend on the demo's). */
const parseNote = (body: unknown) => {
  const { id, text, createdAt } = (body ?? {}) as Record<string, unknown>;
  return typeof id === 'string' && typeof text === 'string' && typeof createdAt === 'number' ? { id, text, createdAt } : undefined;
};
const listNotes = () =>
  request('/api/notes', {
    parse: (body) => (Array.isArray(body) && body.every((n) => parseNote(n)) ? body.map((n) => parseNote(n)!) : undefined),
  });
const addNote = (text: string) => request('/api/notes', { method: 'POST', body: JSON.stringify({ text }), parse: parseNote });
async function deleteNote(id: string): Promise<void> {
  await request(`/api/notes/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

describe('the BFF client', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('always sends X-CSRF: 1 with same-origin credentials', async () => {
    const answers = [json(200, USER), json(200, []), json(200, {})];
    const fetchMock = stubFetch(() => answers.shift()!);
    await getUser();
    await listNotes();
    await request('/api/other', { headers: { 'x-csrf': '0' } });
    for (let i = 0; i < 3; i++) {
      const { init, headers } = callOf(fetchMock, i);
      expect(headers.get('x-csrf')).toBe('1');
      expect(init.credentials).toBe('same-origin');
    }
    expect(callOf(fetchMock, 0).path).toBe('/bff/user');
    expect(callOf(fetchMock, 1).path).toBe('/api/notes');
  });

  it('cannot be talked into another credentials mode', async () => {
    const fetchMock = stubFetch(() => json(200, []));
    await request('/api/notes', { credentials: 'include' });
    expect(callOf(fetchMock).init.credentials).toBe('same-origin');
  });

  it('posts JSON with a content type and answers with the created note', async () => {
    const fetchMock = stubFetch(() => json(201, { id: '1', text: 'hi', createdAt: 1 }));
    expect(await addNote('hi')).toEqual({ id: '1', text: 'hi', createdAt: 1 });
    const { path, init, headers } = callOf(fetchMock);
    expect(path).toBe('/api/notes');
    expect(init.method).toBe('POST');
    expect(init.body).toBe('{"text":"hi"}');
    expect(headers.get('content-type')).toBe('application/json');
  });

  it('deletes by encoded id and resolves to undefined on 204', async () => {
    const fetchMock = stubFetch(() => new Response(null, { status: 204 }));
    await expect(deleteNote('a/b c')).resolves.toBeUndefined();
    const { path, init, headers } = callOf(fetchMock);
    expect(path).toBe('/api/notes/a%2Fb%20c');
    expect(init.method).toBe('DELETE');
    expect(headers.get('x-csrf')).toBe('1');
  });

  it('turns a JSON error body into an ApiError with the BFF code and message', async () => {
    stubFetch(() => json(503, { error: 'unavailable', message: 'Try later.' }));
    const error = await listNotes().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 503, code: 'unavailable', message: 'Try later.' });
  });

  it('falls back to the status when the error body is not the BFF JSON', async () => {
    const html = request('/x', {}, async () => new Response('<html>bad gateway</html>', { status: 502 }));
    await expect(html).rejects.toMatchObject({ status: 502, code: 'http_error', message: 'The request failed (502).' });
    const empty503 = request('/x', {}, async () => new Response('', { status: 503 }));
    await expect(empty503).rejects.toMatchObject({
      status: 503,
      code: 'http_error',
      message: expect.stringMatching(/temporarily unavailable/),
    });
    const odd = request('/x', {}, async () => json(400, { error: 42, message: ['x'] }));
    await expect(odd).rejects.toMatchObject({ status: 400, code: 'http_error', message: 'The request failed (400).' });
    const nullBody = request('/x', {}, async () => json(500, null));
    await expect(nullBody).rejects.toMatchObject({ status: 500, code: 'http_error' });
  });

  it('reports an unreachable server as status 0 "network"', async () => {
    const offline = request('/x', {}, async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(offline).rejects.toMatchObject({ status: 0, code: 'network' });
  });

  it('reports an unreadable success body as "bad_response"', async () => {
    const garbled = request('/x', {}, async () => new Response('not json', { status: 200 }));
    await expect(garbled).rejects.toMatchObject({ status: 200, code: 'bad_response' });
  });

  it('rejects a success body of the wrong shape as "bad_response" instead of handing it on', async () => {
    stubFetch(() => json(200, { not: 'a list' }));
    await expect(listNotes()).rejects.toMatchObject({
      status: 200,
      code: 'bad_response',
      message: expect.stringMatching(/could not read/),
    });
    await expect(getUser()).rejects.toMatchObject({ status: 200, code: 'bad_response' });
    stubFetch(() => json(201, { id: 7, text: 'hi' }));
    await expect(addNote('hi')).rejects.toMatchObject({ status: 201, code: 'bad_response' });
    stubFetch(() => new Response(null, { status: 204 }));
    await expect(listNotes()).rejects.toMatchObject({ status: 204, code: 'bad_response' });
  });

  it('hands back the parsed value, and the raw body when no parser is given', async () => {
    const note = { id: '1', text: 'hi', createdAt: 1 };
    const fetchMock = stubFetch(() => json(200, [note]));
    await expect(listNotes()).resolves.toEqual([note]);
    expect(callOf(fetchMock).init).not.toHaveProperty('parse'); // an option of ours, not of fetch
    await expect(request('/api/other', {}, async () => json(200, { any: 'thing' }))).resolves.toEqual({ any: 'thing' });
  });

  it('passes an abort through untouched', async () => {
    const controller = new AbortController();
    controller.abort();
    const aborted = request('/x', { signal: controller.signal }, async () => {
      throw new DOMException('The operation was aborted.', 'AbortError');
    });
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('tells unauthorized listeners about every 401, until they unsubscribe', async () => {
    const seen: ApiError[] = [];
    const stop = onUnauthorized((error) => seen.push(error));
    const unauthenticated = async () => json(401, { error: 'unauthenticated', message: 'Sign in.' });
    await expect(request('/api/notes', {}, unauthenticated)).rejects.toBeInstanceOf(ApiError);
    await expect(request('/api/notes', {}, async () => json(403, { error: 'csrf', message: 'no' }))).rejects.toBeInstanceOf(ApiError);
    stop();
    await expect(request('/api/notes', {}, unauthenticated)).rejects.toBeInstanceOf(ApiError);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ status: 401, code: 'unauthenticated' });
  });

  it('builds the login URL with an encoded returnTo', () => {
    expect(loginUrl('/notes?tab=a b')).toBe('/bff/login?returnTo=%2Fnotes%3Ftab%3Da%20b');
  });

  it('describes outages, refusals and unknown failures for display', () => {
    expect(describeError(new ApiError(503, 'unavailable', 'Try later.'))).toEqual({
      title: 'Service temporarily unavailable',
      message: 'Try later.',
      retryable: true,
    });
    expect(describeError(new ApiError(0, 'network', 'Offline.')).retryable).toBe(true);
    expect(describeError(new ApiError(400, 'bad_request', 'Too long.'), 'Could not save')).toEqual({
      title: 'Could not save',
      message: 'Too long.',
      retryable: false,
    });
    expect(describeError(new Error('internal detail')).message).not.toContain('internal detail');
    expect(describeError(new ApiError(200, 'bad_response', 'Unreadable.'), 'Could not load')).toEqual({
      title: 'Unexpected answer from the server',
      message: 'Unreadable.',
      retryable: true,
    });
  });
});
