import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeHost, json, stubApi } from '../test-support/controller-host.js';
import { ConfigController } from './config-controller.js';

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
const ROUTES = [{ prefix: '/api', websocket: false, token: 'user' }];

describe('ConfigController', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('asks /bff/config once, with X-CSRF, and knows the routes after the answer', async () => {
    const fetchMock = stubApi({ 'GET /bff/config': () => json(200, { routes: ROUTES }) });
    const host = fakeHost();
    const config = new ConfigController(host);
    host.connect();
    expect(config.routes).toBeUndefined();
    await settle();
    expect(config.routes).toEqual(ROUTES);
    expect(host.requestUpdate).toHaveBeenCalled();
    host.disconnect();
    host.connect();
    await settle();
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(new Headers(fetchMock.mock.calls[0]![1]!.headers).get('x-csrf')).toBe('1');
  });

  it('counts a failed or malformed answer as no routes', async () => {
    for (const answer of [
      () => json(503, { error: 'unavailable', message: 'Later.' }),
      () => json(200, { routes: [{ prefix: '/api' }] }),
    ]) {
      stubApi({ 'GET /bff/config': answer });
      const host = fakeHost();
      const config = new ConfigController(host);
      host.connect();
      await settle();
      expect(config.routes).toEqual([]);
    }
  });
});
