import { afterEach, describe, expect, it, vi } from 'vitest';
import { onUnauthorized, request } from '../api/bff-client.js';
import { fakeHost, json, stubApi } from '../test-support/controller-host.js';
import { takeLoginError } from '../login-errors.js';
import { describeAsk } from './step-up.js';
import { StepUpController } from './step-up-controller.js';

const STEP_UP = {
  error: 'step_up_required',
  message: 'Confirm it is you to continue.',
  acr_values: 'urn:bff-kit:acr:mfa',
  max_age: 300,
  login: '/bff/login?acr_values=urn%3Abff-kit%3Aacr%3Amfa&max_age=300&returnTo=%2F',
};

describe('step-up in the SPA', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('a step_up_required answer opens the prompt and does not sign the page out; Continue signs in back to this view', async () => {
    stubApi({ 'GET /admin/me': () => json(401, STEP_UP) });
    const signedOut = vi.fn();
    const stop = onUnauthorized(signedOut);
    const host = fakeHost();
    const location = { pathname: '/reports', search: '?tab=2', hash: '#top', assign: vi.fn() };
    const stepUp = new StepUpController(host, location);
    host.connect();
    await expect(request('/admin/me')).rejects.toMatchObject({ status: 401, stepUp: { acrValues: 'urn:bff-kit:acr:mfa', maxAge: 300 } });
    stop();
    expect(signedOut).not.toHaveBeenCalled();
    expect(stepUp.ask).toEqual({ acrValues: 'urn:bff-kit:acr:mfa', maxAge: 300 });
    stepUp.confirm();
    expect(location.assign).toHaveBeenCalledWith(
      `/bff/login?acr_values=urn%3Abff-kit%3Aacr%3Amfa&max_age=300&returnTo=${encodeURIComponent('/reports?tab=2#top')}`,
    );
    host.disconnect();
  });

  it('a plain 401 still signs the page out and opens no prompt; Not now closes the prompt', async () => {
    stubApi({
      'GET /api/me': () => json(401, { error: 'unauthenticated', message: 'Sign in.' }),
      'GET /admin/me': () => json(401, STEP_UP),
    });
    const signedOut = vi.fn();
    const stop = onUnauthorized(signedOut);
    const host = fakeHost();
    const stepUp = new StepUpController(host, { pathname: '/', search: '', hash: '', assign: vi.fn() });
    host.connect();
    await expect(request('/api/me')).rejects.toMatchObject({ status: 401 });
    expect(signedOut).toHaveBeenCalledTimes(1);
    expect(stepUp.ask).toBeUndefined();
    await expect(request('/admin/me')).rejects.toMatchObject({ status: 401 });
    stepUp.dismiss();
    expect(stepUp.ask).toBeUndefined();
    stop();
    host.disconnect();
  });

  it('after a failed step-up the page says so once (it is still signed in), and only once', async () => {
    const history = { state: null, replaceState: vi.fn() };
    expect(takeLoginError({ href: 'https://app.example/?login_error=step_up_failed' }, history)).toMatch(/did not confirm/);
    const host = fakeHost();
    const stepUp = new StepUpController(host, { pathname: '/', search: '', hash: '', assign: vi.fn() });
    expect(stepUp.failed).toBe(true);
    host.connect();
    stubApi({ 'GET /admin/me': () => json(401, STEP_UP) });
    await expect(request('/admin/me')).rejects.toMatchObject({ status: 401 });
    expect(stepUp.ask).toBeDefined();
    expect(stepUp.failed).toBe(true); // said together with the new ask
    host.disconnect();
    expect(new StepUpController(fakeHost(), { pathname: '/', search: '', hash: '', assign: vi.fn() }).failed).toBe(false);
    stepUp.dismiss();
    expect(stepUp.failed).toBe(false);
  });

  it('names what is asked', () => {
    expect(describeAsk({ acrValues: 'urn:bff-kit:acr:mfa' })).toMatch(/second factor/);
    expect(describeAsk({ acrValues: 'urn:example:gold' })).toMatch(/stronger method/);
    expect(describeAsk({ maxAge: 300 })).toMatch(/at most 5 minutes old/);
  });
});
