import { describe, expect, it } from 'vitest';
import { viteProxyTable } from './vite-proxy.js';

const bff = 'http://127.0.0.1:3000';
/** The table's keys that select `path`, as Vite matches them (a key starting with ^ is a RegExp). */
const matching = (table: ReturnType<typeof viteProxyTable>, path: string) => Object.keys(table).filter((key) => new RegExp(key).test(path));

describe('the dev server proxy table', () => {
  const demo = viteProxyTable(
    bff,
    '/api=http://127.0.0.1:4000#websocket=true,/reports=http://127.0.0.1:4002#resource=urn:x,/public=http://127.0.0.1:4000/public#token=user-or-none',
  );

  it('sends /bff and every API_ROUTES prefix to the BFF, WebSocket upgrades included', () => {
    for (const path of ['/bff/user', '/api/notes', '/api/notes/live', '/reports/summary', '/public/hello', '/public?x=1', '/api']) {
      expect(matching(demo, path), path).toHaveLength(1);
    }
    for (const entry of Object.values(demo)) expect(entry).toEqual({ target: bff, changeOrigin: false, xfwd: true, ws: true });
    expect(Object.keys(demo)).toHaveLength(4);
  });

  it("leaves SPA paths that only start with a prefix's letters, and everything else, to Vite", () => {
    for (const path of ['/', '/apiary', '/publication', '/reportsx/1', '/src/main.ts', '/@vite/client', '/bffx']) {
      expect(matching(demo, path), path).toEqual([]);
    }
  });

  it('follows the configured routes, not a fixed list', () => {
    const own = viteProxyTable(bff, '/orders/v2=https://orders.example#token=client');
    expect(matching(own, '/orders/v2/42')).toHaveLength(1);
    expect(matching(own, '/api/notes')).toEqual([]);
    // Unset: the BFF's own default route.
    expect(matching(viteProxyTable(bff, undefined), '/api/notes')).toHaveLength(1);
  });
});
