import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RouteInfo } from '../../../shared/src/index.js';
import { fakeHost, json, stubApi } from '../test-support/controller-host.js';
import { DemoApisController, type GreetingRenderers } from './demo-apis-controller.js';

const PUBLIC: RouteInfo = { prefix: '/public', websocket: false, token: 'user-or-none' };
const REPORTS: RouteInfo = { prefix: '/reports', websocket: false, token: 'user' };
const asText: GreetingRenderers<string> = { loading: () => 'loading', greeting: (g) => g.greeting, failed: (p) => `failed: ${p.message}` };
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

function started(routes: RouteInfo[], signedIn: boolean) {
  const host = fakeHost();
  const apis = new DemoApisController(host, () => ({ routes, signedIn }));
  host.connect();
  host.update();
  return apis;
}

describe('DemoApisController', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('loads the greeting when /public is a route', async () => {
    stubApi({ 'GET /public/hello': () => json(200, { greeting: 'Hello, guest!', signedIn: false }) });
    const apis = started([PUBLIC], false);
    expect(apis.renderGreeting(asText)).toBe('loading');
    await settle();
    expect(apis.renderGreeting(asText)).toBe('Hello, guest!');
    expect(apis.available).toEqual({ greeting: true, reports: false });
  });

  it('calls nothing for an API whose route does not exist', async () => {
    const fetchMock = stubApi({});
    const apis = started([{ prefix: '/api', websocket: false, token: 'user' }], true);
    await settle();
    expect(apis.renderGreeting(asText)).toBeUndefined();
    expect(apis.available).toEqual({ greeting: false, reports: false });
    await apis.callReports();
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('calls the reports API signed in, is busy meanwhile, and keeps what it answered or why it refused', async () => {
    stubApi({
      'GET /reports/me': [
        () => json(200, { sub: 'alice', audience: 'urn:reports', scope: 'openid' }),
        () => json(403, { error: 'forbidden', message: 'Not for you.' }),
      ],
    });
    const apis = started([REPORTS], true);
    const call = apis.callReports();
    expect(apis.busy).toBe(true);
    await call;
    expect(apis.busy).toBe(false);
    expect(apis.reports).toEqual({ sub: 'alice', audience: 'urn:reports', scope: 'openid' });
    await apis.callReports();
    expect(apis.problem).toEqual({ title: 'The reports API refused the call', message: 'Not for you.' });
  });
});
