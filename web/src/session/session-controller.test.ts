import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AUTH_CHANNEL, type UserInfo } from '../../../shared/src/index.js';
import { request } from '../api/bff-client.js';
import { SessionController } from './session-controller.js';
import { SESSION_MESSAGES } from './session-logic.js';

// The controller only needs a few browser globals; Node provides BroadcastChannel itself.
class FakeDocument extends EventTarget {
  visibilityState: DocumentVisibilityState = 'visible';
}
class FakeWindow extends EventTarget {
  location = { pathname: '/notes', search: '?x=1', assign: vi.fn() };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const unauthenticated = () => json(401, { error: 'unauthenticated', message: 'Sign in.' });

function userInfo(endsInSeconds: number): UserInfo {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: 'alice',
    claims: { name: 'Alice' },
    session: { idleExpiresAt: now + endsInSeconds, expiresAt: now + 3600, idleTimeout: 1800 },
    logoutUrl: '/bff/logout?sid=abc',
  };
}

/** A fake `/bff/user` whose next answers are queued; later calls repeat the last one. */
function stubUserEndpoint(...answers: Array<() => Response>) {
  const fetchMock = vi.fn(async () => (answers.length > 1 ? answers.shift()! : answers[0]!)());
  vi.stubGlobal('fetch', fetchMock);
  return fetchMock;
}

function host() {
  return { addController: vi.fn(), removeController: vi.fn(), requestUpdate: vi.fn(), updateComplete: Promise.resolve(true) };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('SessionController', () => {
  let doc: FakeDocument;
  let win: FakeWindow;
  const controllers: SessionController[] = [];

  function connect(options?: ConstructorParameters<typeof SessionController>[1]) {
    const controller = new SessionController(host(), options);
    controllers.push(controller);
    controller.hostConnected();
    return controller;
  }

  beforeEach(() => {
    doc = new FakeDocument();
    win = new FakeWindow();
    vi.stubGlobal('document', doc);
    vi.stubGlobal('window', win);
  });
  afterEach(() => {
    for (const controller of controllers.splice(0)) controller.hostDisconnected();
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('starts loading, then shows the signed-in user', async () => {
    stubUserEndpoint(() => json(200, userInfo(600)));
    const session = connect();
    expect(session.state.status).toBe('loading');
    await settle();
    expect(session.state).toMatchObject({ status: 'signed-in', user: { sub: 'alice' } });
  });

  it('is signed out without a message on a first visit, with the login error after a failed sign-in', async () => {
    stubUserEndpoint(unauthenticated);
    const plain = connect();
    const failed = connect({ initialMessage: 'You declined to share your account.' });
    await settle();
    expect(plain.state).toEqual({ status: 'signed-out' });
    expect(failed.state).toEqual({ status: 'signed-out', message: 'You declined to share your account.' });
  });

  it('trusts a signed-out hint: no /bff/user call at all (no 401 for the console), the login error still shown', async () => {
    const fetchMock = stubUserEndpoint(unauthenticated);
    const session = connect({ initialMessage: 'You declined to share your account.', signedIn: async () => false });
    await settle();
    expect(session.state).toEqual({ status: 'signed-out', message: 'You declined to share your account.' });
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('asks /bff/user when the hint says signed in, or when the hint failed', async () => {
    const fetchMock = stubUserEndpoint(() => json(200, userInfo(600)));
    const hinted = connect({ signedIn: async () => true });
    const failed = connect({ signedIn: () => Promise.reject(new Error('offline')) });
    await settle();
    expect(hinted.state).toMatchObject({ status: 'signed-in' });
    expect(failed.state).toMatchObject({ status: 'signed-in' });
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  it('shows "Service temporarily unavailable" on a 503 and recovers on retry', async () => {
    stubUserEndpoint(
      () => json(503, { error: 'unavailable', message: 'The session store is unavailable.' }),
      () => json(200, userInfo(600)),
    );
    const session = connect();
    await settle();
    expect(session.state).toEqual({
      status: 'error',
      title: 'Service temporarily unavailable',
      message: 'The session store is unavailable.',
    });
    await session.refresh();
    expect(session.state.status).toBe('signed-in');
  });

  it('shows an error with Try again, not a crash, when /bff/user answers 200 with something else', async () => {
    stubUserEndpoint(
      () => json(200, { not: 'a user' }),
      () => json(200, userInfo(600)),
    );
    const session = connect();
    await settle();
    expect(session.state).toEqual({
      status: 'error',
      title: 'Unexpected answer from the server',
      message: 'The server sent an answer the app could not read.',
    });
    await session.refresh();
    expect(session.state.status).toBe('signed-in');
  });

  it('signs out, saying it may have been from another device, when any call answers 401 before the session was due to end', async () => {
    stubUserEndpoint(() => json(200, userInfo(600)), unauthenticated);
    const session = connect();
    await settle();
    await request('/api/notes').catch(() => undefined);
    // No reason in the answer (something in front of the BFF): the app guesses from the times it knew.
    expect(session.state).toEqual({ status: 'signed-out', message: SESSION_MESSAGES.elsewhere, reason: 'no_session' });
    expect(SESSION_MESSAGES.elsewhere).toMatch(/possibly from another device/);
  });

  it.each([
    ['ended_elsewhere', 'You were signed out on another device or by your sign-in provider. Please sign in again.'],
    ['idle_timeout', 'Your session timed out after 30 minutes without activity. Please sign in again.'],
    ['absolute_timeout', 'Your session reached the longest time a session can last. Please sign in again.'],
    ['signed_out', 'You signed out. Sign in again whenever you like.'],
    ['refresh_refused', 'Your sign-in could no longer be renewed, so you were signed out. Please sign in again.'],
    ['no_session', 'Your session ended. Please sign in again.'],
  ])('says why in plain words when a call answers 401 with reason %s', async (reason, message) => {
    stubUserEndpoint(
      () => json(200, userInfo(600)),
      () => json(401, { error: 'unauthenticated', reason, message: 'x' }),
    );
    const session = connect();
    await settle();
    await request('/api/notes').catch(() => undefined);
    expect(session.state).toEqual({ status: 'signed-out', message, reason });
  });

  it('a page loaded after its session ended says why (from /bff/status); a first visit says nothing', async () => {
    stubUserEndpoint(unauthenticated);
    const ended = connect({ signedIn: async () => ({ signedIn: false, reason: 'ended_elsewhere' }) });
    const first = connect({ signedIn: async () => ({ signedIn: false, reason: 'no_session' }) });
    await settle();
    expect(ended.state).toMatchObject({
      status: 'signed-out',
      reason: 'ended_elsewhere',
      message: expect.stringMatching(/another device/),
    });
    expect(first.state).toEqual({ status: 'signed-out' });
  });

  it('slides the idle timeout only on the first check; its own background checks send slide=false', async () => {
    const fetchMock = stubUserEndpoint(unauthenticated, () => json(200, userInfo(600)));
    const session = connect();
    await settle();
    expect(session.state.status).toBe('signed-out');
    const otherTab = new BroadcastChannel(AUTH_CHANNEL);
    otherTab.postMessage({ type: 'signed-in' }); // another tab signed in: this one looks again
    await settle();
    otherTab.close();
    expect(session.state.status).toBe('signed-in');
    doc.dispatchEvent(new Event('visibilitychange'));
    await settle();
    const paths = fetchMock.mock.calls.map((call) => String((call as unknown[])[0]));
    expect(paths).toEqual(['/bff/user', '/bff/user?slide=false', '/bff/user?slide=false']);
  });

  it('re-checks after the session end and then says "Your session expired"', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    // On a whole second, so the session (in epoch seconds) ends exactly 3 s from now, not up to 1 s sooner.
    vi.setSystemTime(Math.floor(Date.now() / 1000) * 1000);
    const fetchMock = stubUserEndpoint(() => json(200, userInfo(3)), unauthenticated);
    const session = connect();
    await vi.advanceTimersByTimeAsync(10);
    expect(session.state.status).toBe('signed-in');
    await vi.advanceTimersByTimeAsync(3000);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1500);
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(session.state).toEqual({ status: 'signed-out', message: SESSION_MESSAGES.expired, reason: 'no_session' });
  });

  it('re-checks when the tab becomes visible again', async () => {
    const fetchMock = stubUserEndpoint(() => json(200, userInfo(600)), unauthenticated);
    const session = connect();
    await settle();
    doc.visibilityState = 'hidden';
    doc.dispatchEvent(new Event('visibilitychange'));
    expect(fetchMock).toHaveBeenCalledTimes(1);
    doc.visibilityState = 'visible';
    doc.dispatchEvent(new Event('visibilitychange'));
    await settle();
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(session.state).toMatchObject({
      status: 'signed-out',
      message: expect.stringMatching(/^(Your session expired|You were signed out on this device)/),
    });
  });

  it('keeps the page when a background check cannot reach the server', async () => {
    stubUserEndpoint(
      () => json(200, userInfo(600)),
      () => {
        throw new TypeError('Failed to fetch');
      },
    );
    const session = connect();
    await settle();
    await session.refresh();
    expect(session.state.status).toBe('signed-in');
  });

  it('navigates to the BFF to sign in, with the current path as returnTo', async () => {
    stubUserEndpoint(unauthenticated);
    const session = connect();
    await settle();
    session.signIn();
    expect(win.location.assign).toHaveBeenCalledWith('/bff/login?returnTo=%2Fnotes%3Fx%3D1');
  });

  it('signs out the other tabs over the BroadcastChannel, without secrets', async () => {
    stubUserEndpoint(() => json(200, userInfo(600)));
    const spy = new BroadcastChannel(AUTH_CHANNEL);
    const heard: unknown[] = [];
    spy.onmessage = (event) => heard.push(event.data);
    const first = connect();
    const second = connect();
    await settle();
    expect(second.state.status).toBe('signed-in');

    first.signOut();
    expect(win.location.assign).toHaveBeenCalledWith('/bff/logout?sid=abc');
    await settle();
    expect(second.state).toEqual({ status: 'signed-out', message: SESSION_MESSAGES.otherTab, reason: 'signed_out' });
    expect(heard).toContainEqual({ type: 'signed-out' });
    expect(JSON.stringify(heard)).not.toContain('abc');
    spy.close();
  });
});
