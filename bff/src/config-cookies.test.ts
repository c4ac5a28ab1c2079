import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { BASE_ENV, configProblems } from '../../test/support/config-problems.js';
import { cookiePrefixProblems } from './config-cookies.js';

const base = BASE_ENV;
const https = { ...base, PUBLIC_URL: 'https://app.example.com' };

describe('cookie names (RFC 10017)', () => {
  it('names the session cookie __Host-Http-bff and the login cookie __Host-Http-bff-login on https', () => {
    expect(loadConfig(https).cookies).toEqual({ session: '__Host-Http-bff', login: '__Host-Http-bff-login' });
  });

  it('uses plain names on http (local development)', () => {
    expect(loadConfig(base).cookies).toEqual({ session: 'bff', login: 'bff-login' });
  });

  it('keeps __Host-bff when SESSION_COOKIE_NAME says so (a migration)', () => {
    expect(loadConfig({ ...https, SESSION_COOKIE_NAME: '__Host-bff' }).cookies).toEqual({
      session: '__Host-bff',
      login: '__Host-Http-bff-login',
    });
  });

  it('refuses a prefixed SESSION_COOKIE_NAME on http, whatever the prefix or its case', () => {
    for (const name of ['__Host-Http-bff', '__Host-bff', '__Http-bff', '__Secure-bff', '__host-http-bff', '__SECURE-bff']) {
      expect(configProblems({ ...base, SESSION_COOKIE_NAME: name }), name).toEqual([
        expect.stringMatching(
          /^SESSION_COOKIE_NAME: a __(Host-Http|Host|Http|Secure)- cookie needs Secure, which the BFF sets only when PUBLIC_URL is https$/,
        ),
      ]);
    }
  });

  it('refuses a SESSION_COOKIE_NAME that is no cookie name or is the login cookie', () => {
    expect(configProblems({ ...https, SESSION_COOKIE_NAME: 'bff session' })).toEqual([
      'SESSION_COOKIE_NAME: "bff session" is not a cookie name',
    ]);
    expect(configProblems({ ...https, SESSION_COOKIE_NAME: '__Host-Http-bff-login' })).toEqual([
      "SESSION_COOKIE_NAME must differ from the login cookie's name (__Host-Http-bff-login)",
    ]);
  });

  it("knows each prefix's rules: Secure, Path=/ and no Domain for __Host-, HttpOnly for __Http-, all of them for __Host-Http-", () => {
    const good = { secure: true, httpOnly: true, path: '/' };
    expect(cookiePrefixProblems('X', '__Host-Http-a', good)).toEqual([]);
    expect(cookiePrefixProblems('X', '__Host-Http-a', { secure: false, httpOnly: false, path: '/app', domain: 'example.com' })).toEqual([
      'X: a __Host-Http- cookie needs Secure, which the BFF sets only when PUBLIC_URL is https',
      'X: a __Host-Http- cookie needs Path=/',
      'X: a __Host-Http- cookie must not carry a Domain',
      'X: a __Host-Http- cookie needs HttpOnly',
    ]);
    expect(cookiePrefixProblems('X', '__Host-a', { ...good, httpOnly: false })).toEqual([]);
    expect(cookiePrefixProblems('X', '__Host-a', { ...good, domain: 'example.com' })).toEqual([
      'X: a __Host- cookie must not carry a Domain',
    ]);
    expect(cookiePrefixProblems('X', '__Http-a', { ...good, httpOnly: false, path: '/app' })).toEqual([
      'X: a __Http- cookie needs HttpOnly',
    ]);
    expect(cookiePrefixProblems('X', '__Secure-a', { ...good, httpOnly: false, path: '/app', domain: 'example.com' })).toEqual([]);
    expect(cookiePrefixProblems('X', 'plain', { secure: false, httpOnly: false, path: '/app', domain: 'example.com' })).toEqual([]);
  });
});
