import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { BASE_ENV, configProblems } from '../../test/support/config-problems.js';

const base = BASE_ENV;
const token = 't'.repeat(32);

describe('Shared Signals settings (SSF_*)', () => {
  it('are off without SSF_ISSUER', () => {
    expect(loadConfig(base).ssf).toBeUndefined();
  });

  it('default the audience to PUBLIC_URL’s origin and the stream to off', () => {
    expect(
      loadConfig({ ...base, PUBLIC_URL: 'https://app.example.com', SSF_ISSUER: 'https://ssf.example.com', SSF_PUSH_TOKEN: token }).ssf,
    ).toEqual({ issuer: 'https://ssf.example.com', pushToken: token, audience: 'https://app.example.com', stream: 'off' });
    expect(
      loadConfig({ ...base, SSF_ISSUER: 'https://ssf.example.com', SSF_PUSH_TOKEN: token, SSF_AUDIENCE: 'urn:me', SSF_STREAM: 'auto' }).ssf,
    ).toMatchObject({ audience: 'urn:me', stream: 'auto' });
  });

  it('are required together: the others without SSF_ISSUER, SSF_ISSUER without the push token', () => {
    expect(configProblems({ ...base, SSF_PUSH_TOKEN: token, SSF_STREAM: 'auto' })).toEqual([
      'SSF_PUSH_TOKEN is set without SSF_ISSUER (set both, or neither)',
      'SSF_STREAM is set without SSF_ISSUER (set both, or neither)',
    ]);
    expect(configProblems({ ...base, SSF_ISSUER: 'https://ssf.example.com' })).toEqual([
      'SSF_PUSH_TOKEN is required with SSF_ISSUER (the transmitter sends it as a bearer token)',
    ]);
  });

  it('refuse a short or spaced push token, a non-URL issuer, an unknown stream mode, and http in production off loopback', () => {
    expect(configProblems({ ...base, SSF_ISSUER: 'ssf.example.com', SSF_PUSH_TOKEN: 'short', SSF_STREAM: 'always' })).toEqual([
      'SSF_STREAM must be auto or off',
      'SSF_ISSUER must be an http(s) URL',
      'SSF_PUSH_TOKEN must be at least 32 bytes',
    ]);
    expect(configProblems({ ...base, SSF_ISSUER: 'https://ssf.example.com', SSF_PUSH_TOKEN: `${token} x` })).toEqual([
      'SSF_PUSH_TOKEN must be visible ASCII without spaces',
    ]);
    const production = { ...base, NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:6379', SESSION_KEYS: 'k'.repeat(32) };
    expect(configProblems({ ...production, SSF_ISSUER: 'http://ssf.example.com', SSF_PUSH_TOKEN: token })).toEqual([
      'SSF_ISSUER must be https in production unless its host is a loopback address',
    ]);
    expect(configProblems({ ...production, SSF_ISSUER: 'http://127.0.0.1:9000', SSF_PUSH_TOKEN: token })).toEqual([]);
  });
});
