import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RouteInfo } from '../../../shared/src/index.js';
import { fakeHost, json, stubApi } from '../test-support/controller-host.js';
import { MeController, type MeRenderers } from './me-controller.js';

const API: RouteInfo = { prefix: '/api', websocket: false, token: 'user' };
const asText: MeRenderers<string> = { loading: () => 'loading', me: (me) => `sub ${me.sub}`, failed: (p) => `failed: ${p.title}` };
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

function started(routes: RouteInfo[]) {
  const host = fakeHost();
  const me = new MeController(host, () => routes);
  host.connect();
  host.update();
  return me;
}

describe('MeController', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('calls GET /api/me when /api is a route and renders whom the token speaks for', async () => {
    stubApi({ 'GET /api/me': () => json(200, { sub: 'alice', audience: 'urn:x', scope: '' }) });
    const me = started([API]);
    expect(me.render(asText)).toBe('loading');
    await settle();
    expect(me.render(asText)).toBe('sub alice');
  });

  it('calls nothing and renders nothing without an /api route', async () => {
    const fetchMock = stubApi({});
    const me = started([{ prefix: '/other', websocket: false, token: 'user' }]);
    await settle();
    expect(me.render(asText)).toBeUndefined();
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('shows a failure for an answer of the wrong shape, and nothing for a 401 (the signed-out view takes over)', async () => {
    stubApi({ 'GET /api/me': [() => json(200, { sub: 42 }), () => json(401, { error: 'unauthenticated', reason: 'idle_timeout' })] });
    const me = started([API]);
    await settle();
    expect(me.render(asText)).toMatch(/^failed: /);
    await me.reload();
    expect(me.render(asText)).toBeUndefined();
  });
});
