import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RouteInfo } from '../../../shared/src/index.js';
import { fakeHost, json, stubApi } from '../test-support/controller-host.js';
import { ProtectedApisController } from './protected-apis-controller.js';

const route = (prefix: string): RouteInfo => ({ prefix, websocket: false, token: 'user' });

describe('ProtectedApisController', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('offers only the calls whose routes exist', () => {
    expect(new ProtectedApisController(fakeHost(), () => [route('/admin')]).available).toEqual(['admin']);
    expect(new ProtectedApisController(fakeHost(), () => [route('/api')]).available).toEqual([]);
  });

  it('keeps who the API saw, says why a refusal happened, and leaves a step-up to the prompt', async () => {
    stubApi({
      'GET /admin/me': [
        () => json(401, { error: 'step_up_required', message: 'Confirm it is you to continue.', acr_values: 'urn:x', login: '/bff/login' }),
        () => json(200, { sub: 'alice' }),
      ],
      'GET /alice/me': () => json(403, { error: 'forbidden', message: 'Your account may not use this API.' }),
    });
    const apis = new ProtectedApisController(fakeHost(), () => [route('/admin'), route('/alice')]);
    await apis.call('admin');
    expect(apis.problem).toBeUndefined();
    expect(apis.answer('admin')).toBeUndefined();
    await apis.call('admin');
    expect(apis.answer('admin')).toBe('alice');
    await apis.call('alice');
    expect(apis.problem).toMatchObject({ title: 'The API refused the call', message: 'Your account may not use this API.' });
  });
});
