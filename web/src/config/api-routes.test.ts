import { describe, expect, it } from 'vitest';
import type { RouteInfo } from '../../../shared/src/index.js';
import { canCall, canOpenSocket, routeFor } from './api-routes.js';

const api: RouteInfo = { prefix: '/api', websocket: false, token: 'user' };
const admin: RouteInfo = { prefix: '/api/admin', websocket: true, token: 'user' };

describe('the API routes the SPA may call', () => {
  it('picks the longest whole-segment prefix, as the proxy does', () => {
    expect(routeFor([api, admin], '/api/notes')).toBe(api);
    expect(routeFor([api, admin], '/api/admin/live')).toBe(admin);
    expect(routeFor([admin, api], '/api/admin')).toBe(admin);
    expect(routeFor([api], '/apix/notes')).toBeUndefined();
    expect(routeFor([], '/api/notes')).toBeUndefined();
  });

  it('allows a WebSocket only where the route takes upgrades', () => {
    expect(canCall([api], '/api/notes/live')).toBe(true);
    expect(canOpenSocket([api], '/api/notes/live')).toBe(false);
    expect(canOpenSocket([{ ...api, websocket: true }], '/api/notes/live')).toBe(true);
    expect(canOpenSocket([], '/api/notes/live')).toBe(false);
  });
});
