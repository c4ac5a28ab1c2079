import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeHost, json, stubApi } from '../test-support/controller-host.js';
import type { UserSession } from '../../../shared/src/index.js';
import { SessionsController, sessionsChanged, type SessionsRenderers } from './sessions-controller.js';

const session = (handle: string, device: string, current = false): UserSession => ({
  handle,
  current,
  createdAt: 1_700_000_000,
  lastActiveAt: 1_700_000_060,
  device,
});
const HERE = session('hereHandle000000000000', 'Chrome on Linux', true);
const PHONE = session('phoneHandle00000000000', 'Safari on iOS');
const DESKTOP = session('deskHandle000000000000', 'Firefox on Windows');

const asText: SessionsRenderers<string> = {
  loading: () => 'loading',
  list: (sessions, refreshing) =>
    `${refreshing ? 'refreshing ' : ''}[${sessions.map((s) => (s.current ? `*${s.device}` : s.device)).join(', ')}]`,
  failed: (problem) => `failed: ${problem.title}`,
};

const calls = (fetchMock: ReturnType<typeof stubApi>) =>
  fetchMock.mock.calls.map(([input, init]) => `${init?.method ?? 'GET'} ${String(input)}`);

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

function started() {
  const host = fakeHost();
  const sessions = new SessionsController(host);
  host.connect();
  host.update();
  return sessions;
}

describe('SessionsController', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('loads the list again when another part of the app says sessions changed, until its host disconnects', async () => {
    let answer = [PHONE, HERE];
    const fetchMock = stubApi({ 'GET /bff/sessions': () => json(200, { sessions: answer }) });
    const host = fakeHost();
    const sessions = new SessionsController(host);
    host.connect();
    host.update();
    await settle();
    answer = [HERE];
    sessionsChanged.dispatchEvent(new Event('changed'));
    await settle();
    expect(sessions.render(asText)).toBe('[*Chrome on Linux]');
    host.disconnect();
    sessionsChanged.dispatchEvent(new Event('changed'));
    await settle();
    expect(calls(fetchMock)).toEqual(['GET /bff/sessions', 'GET /bff/sessions']);
  });

  it('loads the list on the first update', async () => {
    stubApi({ 'GET /bff/sessions': () => json(200, { sessions: [PHONE, HERE] }) });
    const sessions = started();
    expect(sessions.render(asText)).toBe('loading');
    await settle();
    expect(sessions.render(asText)).toBe('[Safari on iOS, *Chrome on Linux]');
    expect(sessions.others).toEqual([PHONE]);
  });

  it('ends nothing until the user confirms; Cancel ends nothing at all', async () => {
    const fetchMock = stubApi({ 'GET /bff/sessions': () => json(200, { sessions: [PHONE, HERE] }) });
    const sessions = started();
    await settle();
    sessions.ask(PHONE);
    expect(sessions.confirming).toEqual({ kind: 'one', session: PHONE });
    sessions.cancel();
    expect(sessions.confirming).toBeUndefined();
    expect(await sessions.confirm()).toBe(false);
    expect(calls(fetchMock)).toEqual(['GET /bff/sessions']);
  });

  it('ends one session by its handle once confirmed, says so, and reloads the list', async () => {
    const fetchMock = stubApi({
      'GET /bff/sessions': [() => json(200, { sessions: [PHONE, HERE] }), () => json(200, { sessions: [HERE] })],
      [`DELETE /bff/sessions/${PHONE.handle}`]: () => new Response(null, { status: 204 }),
    });
    const sessions = started();
    await settle();
    sessions.ask(PHONE);
    expect(await sessions.confirm()).toBe(true);
    expect(calls(fetchMock)).toEqual(['GET /bff/sessions', `DELETE /bff/sessions/${PHONE.handle}`, 'GET /bff/sessions']);
    expect(sessions.outcome).toBe('Signed out Safari on iOS. It will have to sign in again.');
    expect(sessions.render(asText)).toBe('[*Chrome on Linux]');
  });

  it('ends every other session once confirmed and reports the count', async () => {
    const fetchMock = stubApi({
      'GET /bff/sessions': [() => json(200, { sessions: [DESKTOP, PHONE, HERE] }), () => json(200, { sessions: [HERE] })],
      'DELETE /bff/sessions': () => json(200, { ended: 2 }),
    });
    const sessions = started();
    await settle();
    sessions.ask();
    expect(sessions.confirming).toEqual({ kind: 'others', count: 2 });
    expect(await sessions.confirm()).toBe(true);
    expect(calls(fetchMock)).toContain('DELETE /bff/sessions');
    expect(sessions.outcome).toBe('Signed out 2 other sessions.');
  });

  it('treats a 404 as "already ended" and shows failures as problems, keeping the list', async () => {
    stubApi({
      'GET /bff/sessions': () => json(200, { sessions: [PHONE, HERE] }),
      [`DELETE /bff/sessions/${PHONE.handle}`]: [
        () => json(404, { error: 'not_found', message: 'gone' }),
        () => json(503, { error: 'unavailable', message: 'Down.' }),
      ],
    });
    const sessions = started();
    await settle();
    sessions.ask(PHONE);
    expect(await sessions.confirm()).toBe(false);
    expect(sessions.outcome).toBe('That session had already ended.');
    expect(sessions.problem).toBeUndefined();
    sessions.ask(PHONE);
    expect(await sessions.confirm()).toBe(false);
    expect(sessions.problem).toEqual({ title: 'Service temporarily unavailable', message: 'Down.' });
    expect(sessions.outcome).toBeUndefined();
    expect(sessions.render(asText)).toBe('[Safari on iOS, *Chrome on Linux]');
  });
});
