import { describe, expect, it } from 'vitest';
import { parseBffConfig, parseBffStatus, parseNote, parseNotes, parseSessionsEnded, parseUserInfo, parseUserSessions } from './validate.js';

const note = { id: 'n1', text: 'Buy oat milk', createdAt: 1_700_000_000_000 };
const user = {
  sub: 'alice',
  claims: { name: 'Alice', email_verified: true },
  session: { expiresAt: 1_700_003_600, idleExpiresAt: 1_700_000_600, idleTimeout: 1800 },
  logoutUrl: '/bff/logout?sid=abc',
};

describe('parseNote', () => {
  it('accepts a note and keeps only its known fields', () => {
    expect(parseNote(note)).toEqual(note);
    expect(parseNote({ ...note, text: '', extra: '<script>' })).toEqual({ ...note, text: '' });
  });

  it('rejects anything that is not a note', () => {
    for (const body of [null, undefined, 'note', 42, [note], {}, { not: 'a note' }]) expect(parseNote(body)).toBeUndefined();
    expect(parseNote({ ...note, id: '' })).toBeUndefined();
    expect(parseNote({ ...note, id: 1 })).toBeUndefined();
    expect(parseNote({ ...note, text: null })).toBeUndefined();
    expect(parseNote({ ...note, createdAt: '2024-01-01' })).toBeUndefined();
  });

  it('rejects a createdAt no Date can show (toISOString would throw in the view)', () => {
    for (const createdAt of [Number.NaN, Number.POSITIVE_INFINITY, 1e20]) expect(parseNote({ ...note, createdAt })).toBeUndefined();
    expect(parseNote({ ...note, createdAt: 8.64e15 })).toEqual({ ...note, createdAt: 8.64e15 });
  });
});

describe('parseNotes', () => {
  it('accepts a list of notes, empty included', () => {
    expect(parseNotes([])).toEqual([]);
    expect(parseNotes([note, { ...note, id: 'n2' }])).toEqual([note, { ...note, id: 'n2' }]);
  });

  it('rejects a body that is not a list (the "e.map is not a function" case)', () => {
    for (const body of [{ not: 'a list' }, null, undefined, 'notes', 3, { length: 1, 0: note }]) expect(parseNotes(body)).toBeUndefined();
  });

  it('rejects the whole list when one entry is malformed', () => {
    expect(parseNotes([note, { id: 'n2' }])).toBeUndefined();
    expect(parseNotes([note, null])).toBeUndefined();
  });
});

describe('parseUserInfo', () => {
  it('accepts the /bff/user payload', () => {
    expect(parseUserInfo(user)).toEqual(user);
    expect(parseUserInfo({ ...user, logoutUrl: '/bff/logout' })).toMatchObject({ logoutUrl: '/bff/logout' });
  });

  it('rejects a payload without a subject, claims object or session times', () => {
    for (const body of [null, [], 'alice', { not: 'a user' }]) expect(parseUserInfo(body)).toBeUndefined();
    expect(parseUserInfo({ ...user, sub: '' })).toBeUndefined();
    expect(parseUserInfo({ ...user, claims: null })).toBeUndefined();
    expect(parseUserInfo({ ...user, claims: ['name'] })).toBeUndefined();
    expect(parseUserInfo({ ...user, session: undefined })).toBeUndefined();
    expect(parseUserInfo({ ...user, session: { expiresAt: '1700003600', idleExpiresAt: 1_700_000_600 } })).toBeUndefined();
    expect(parseUserInfo({ ...user, session: { expiresAt: 1_700_003_600, idleExpiresAt: 1e13 } })).toBeUndefined();
  });

  it('accepts only the BFF logout path as logoutUrl, since Sign out navigates there', () => {
    for (const logoutUrl of ['https://evil.example/bff/logout?sid=abc', '//evil.example/bff/logout', '/bff/logoutx', '/elsewhere', 42]) {
      expect(parseUserInfo({ ...user, logoutUrl })).toBeUndefined();
    }
  });
});

describe('parseUserSessions', () => {
  const session = {
    handle: 'h0123456789abcdefghijk',
    current: true,
    createdAt: 1_700_000_000,
    lastActiveAt: 1_700_000_100,
    device: 'Chrome on Linux',
  };

  it('accepts the /bff/sessions payload and keeps only the known fields', () => {
    expect(parseUserSessions({ sessions: [] })).toEqual({ sessions: [] });
    expect(parseUserSessions({ sessions: [{ ...session, userAgent: 'Mozilla/5.0' }] })).toEqual({ sessions: [session] });
  });

  it('rejects a body that is not a list of sessions, or one malformed entry', () => {
    for (const body of [null, [], [session], {}, { sessions: 'x' }]) expect(parseUserSessions(body)).toBeUndefined();
    for (const broken of [
      { handle: '' },
      { current: 'yes' },
      { createdAt: '2024' },
      { lastActiveAt: 1e300 },
      { device: '' },
      { device: 3 },
    ]) {
      expect(parseUserSessions({ sessions: [session, { ...session, ...broken }] })).toBeUndefined();
    }
  });
});

describe('parseSessionsEnded', () => {
  it('accepts a whole non-negative count only', () => {
    expect(parseSessionsEnded({ ended: 0 })).toEqual({ ended: 0 });
    expect(parseSessionsEnded({ ended: 3 })).toEqual({ ended: 3 });
    for (const body of [null, {}, { ended: -1 }, { ended: 1.5 }, { ended: '2' }, 2]) expect(parseSessionsEnded(body)).toBeUndefined();
  });
});

describe('parseBffConfig', () => {
  const route = { prefix: '/api', websocket: true, token: 'user' };

  it('accepts the /bff/config payload and keeps only the known fields of each route', () => {
    expect(parseBffConfig({ routes: [] })).toEqual({ routes: [] });
    expect(
      parseBffConfig({
        routes: [
          { ...route, upstream: 'http://x' },
          { prefix: '/public', websocket: false, token: 'user-or-none' },
        ],
      }),
    ).toEqual({
      routes: [route, { prefix: '/public', websocket: false, token: 'user-or-none' }],
    });
  });

  it('accepts the exchange and assertion policies', () => {
    const routes = [
      { prefix: '/ledger', websocket: false, token: 'exchange' },
      { prefix: '/inner', websocket: false, token: 'assertion' },
    ];
    expect(parseBffConfig({ routes })).toEqual({ routes });
  });

  it('rejects anything else, and the whole answer when one route is malformed', () => {
    for (const body of [null, [], {}, { routes: {} }, { routes: [null] }]) expect(parseBffConfig(body)).toBeUndefined();
    for (const bad of [{ prefix: 'api' }, { prefix: 1 }, { websocket: 'true' }, { token: 'admin' }, { token: undefined }]) {
      expect(parseBffConfig({ routes: [route, { ...route, ...bad }] })).toBeUndefined();
    }
  });
});

describe('parseBffStatus', () => {
  it('keeps only signedIn, and refuses anything that is not a boolean there', () => {
    expect(parseBffStatus({ signedIn: true, extra: 1 })).toEqual({ signedIn: true });
    expect(parseBffStatus({ signedIn: false })).toEqual({ signedIn: false });
    for (const body of [null, {}, { signedIn: 'yes' }, []]) expect(parseBffStatus(body)).toBeUndefined();
  });
});
