import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeHost, json, stubApi } from '../test-support/controller-host.js';
import { NOTE_MAX_LENGTH, NotesController, type NotesRenderers } from './notes-controller.js';

const note = (id: string, text = `note ${id}`) => ({ id, text, createdAt: 1_700_000_000_000 });

/** Renders the list state as plain text, so tests can assert what the element would show. */
const asText: NotesRenderers<string> = {
  loading: () => 'loading',
  list: (notes, refreshing) => `${refreshing ? 'refreshing ' : ''}[${notes.map((n) => n.text).join(', ')}]`,
  failed: (problem) => `failed: ${problem.title}: ${problem.message}`,
};

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

/** A controller on a connected host that has had its first update (which starts the load). */
function started() {
  const host = fakeHost();
  const notes = new NotesController(host);
  host.connect();
  host.update();
  return { host, notes };
}

describe('NotesController', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('loads the list on the first update: loading, then the notes', async () => {
    stubApi({ 'GET /api/notes': () => json(200, [note('1', 'first')]) });
    const { notes } = started();
    expect(notes.render(asText)).toBe('loading');
    await settle();
    expect(notes.render(asText)).toBe('[first]');
    expect(notes.notes).toEqual([note('1', 'first')]);
  });

  it('shows a failure, not a crash, when the list answer is not a list', async () => {
    stubApi({ 'GET /api/notes': () => json(200, { not: 'a list' }) });
    const { notes } = started();
    await settle();
    expect(notes.notes).toBeUndefined();
    expect(notes.render(asText)).toBe('failed: Unexpected answer from the server: The server sent an answer the app could not read.');
  });

  it('tries again on reload', async () => {
    stubApi({ 'GET /api/notes': [() => json(503, { error: 'unavailable', message: 'Try later.' }), () => json(200, [])] });
    const { notes } = started();
    await settle();
    expect(notes.render(asText)).toBe('failed: Service temporarily unavailable: Try later.');
    await notes.reload();
    expect(notes.render(asText)).toBe('[]');
  });

  it('renders nothing for a 401: the app shows the signed-out view', async () => {
    stubApi({ 'GET /api/notes': () => json(401, { error: 'unauthenticated', message: 'Sign in.' }) });
    const { notes } = started();
    await settle();
    expect(notes.render(asText)).toBeUndefined();
  });

  it('refuses an empty or too long note without calling the API', async () => {
    const fetchMock = stubApi({ 'GET /api/notes': () => json(200, []) });
    const { notes } = started();
    await settle();
    await expect(notes.add('   ')).resolves.toBe(false);
    expect(notes.saveError).toEqual({ title: 'Nothing to add', message: 'Write something first.' });
    await expect(notes.add('😀'.repeat(NOTE_MAX_LENGTH + 1))).resolves.toBe(false);
    expect(notes.saveError?.title).toBe('Note too long');
    expect(fetchMock).toHaveBeenCalledTimes(1); // the first load only
  });

  it('adds a trimmed note, is saving meanwhile, and shows the reloaded list', async () => {
    const fetchMock = stubApi({
      'GET /api/notes': [() => json(200, []), () => json(200, [note('1', 'hi')])],
      'POST /api/notes': () => json(201, note('1', 'hi')),
    });
    const { notes } = started();
    await settle();
    const saving = notes.add('  hi  ');
    expect(notes.saving).toBe(true);
    await expect(notes.add('again')).resolves.toBe(false); // one change at a time
    await expect(saving).resolves.toBe(true);
    expect(notes.saving).toBe(false);
    expect(notes.saveError).toBeUndefined();
    expect(fetchMock.mock.calls.filter(([, init]) => init?.method === 'POST').map(([, init]) => init?.body)).toEqual(['{"text":"hi"}']);
    expect(notes.render(asText)).toBe('[hi]');
  });

  it('says why a change failed, also when the created note comes back malformed', async () => {
    stubApi({
      'GET /api/notes': () => json(200, [note('1', 'kept')]),
      'POST /api/notes': [() => json(400, { error: 'bad_request', message: 'Too long.' }), () => json(201, { id: 1 })],
    });
    const { notes } = started();
    await settle();
    await expect(notes.add('x')).resolves.toBe(false);
    expect(notes.saveError).toEqual({ title: 'Could not save the change', message: 'Too long.', retryable: false });
    await expect(notes.add('x')).resolves.toBe(false);
    expect(notes.saveError).toMatchObject({ title: 'Unexpected answer from the server' });
    expect(notes.render(asText)).toBe('[kept]');
  });

  it('deletes a note and reloads; the list shows as refreshing meanwhile', async () => {
    let answerReload!: () => void;
    const reloaded = new Promise<void>((resolve) => (answerReload = resolve));
    let lists = 0;
    const fetchMock = vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
      if (init?.method === 'DELETE') return new Response(null, { status: 204 });
      if (lists++ === 0) return json(200, [note('a/1', 'gone')]);
      await reloaded;
      return json(200, []);
    });
    vi.stubGlobal('fetch', fetchMock);
    const { notes } = started();
    await settle();
    const deleting = notes.remove('a/1');
    await vi.waitFor(() => expect(notes.render(asText)).toBe('refreshing [gone]'));
    expect(notes.saving).toBe(true);
    answerReload();
    await expect(deleting).resolves.toBe(true);
    expect(notes.render(asText)).toBe('[]');
    expect(fetchMock.mock.calls.map(([path, init]) => `${init?.method ?? 'GET'} ${String(path)}`)).toEqual([
      'GET /api/notes',
      'DELETE /api/notes/a%2F1',
      'GET /api/notes',
    ]);
  });

  it('stops a load when the element leaves and loads again when it comes back', async () => {
    let aborted = false;
    vi.stubGlobal(
      'fetch',
      vi.fn(
        (_input: RequestInfo | URL, init?: RequestInit) =>
          new Promise<Response>((resolve, reject) => {
            init?.signal?.addEventListener('abort', () => {
              aborted = true;
              reject(init.signal!.reason);
            });
            if (aborted) resolve(json(200, [note('1', 'back')]));
          }),
      ),
    );
    const { host, notes } = started();
    host.disconnect();
    expect(aborted).toBe(true);
    host.connect();
    await settle();
    expect(notes.render(asText)).toBe('[back]');
  });

  it('opens the live notes WebSocket only while its route takes upgrades and the element is shown', async () => {
    const opened: string[] = [];
    const closed: string[] = [];
    class FakeSocket {
      constructor(readonly url: string) {
        opened.push(url);
      }
      addEventListener() {}
      close() {
        closed.push(this.url);
      }
    }
    vi.stubGlobal('WebSocket', FakeSocket);
    vi.stubGlobal('location', { protocol: 'http:', host: 'app.test' });
    stubApi({ 'GET /api/notes': () => json(200, []) });
    const { host, notes } = started();
    await settle();
    expect(opened).toEqual([]); // a route without #websocket=true: no handshake that can only fail
    notes.live = true;
    expect(opened).toEqual(['ws://app.test/api/notes/live']);
    host.disconnect();
    expect(closed).toEqual(['ws://app.test/api/notes/live']);
    notes.live = false;
    host.connect();
    expect(opened).toHaveLength(1);
    notes.live = true;
    expect(opened).toHaveLength(2);
  });
});
