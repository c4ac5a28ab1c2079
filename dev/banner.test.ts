import { describe, expect, it } from 'vitest';
import { loadConfig } from '../bff/src/config.js';
import { redisUrlForDisplay, startBanner } from './banner.js';

const team = {
  OIDC_ISSUER: 'https://login.example.com/realms/team',
  OIDC_CLIENT_ID: 'team-app',
  OIDC_CLIENT_SECRET: 'the-client-secret-never-printed',
  API_ROUTES: '/api=https://api.example.com/v1,/live=https://ws.example.com#websocket=true&token=user-or-none',
};

describe('the start banner', () => {
  it('names the provider, the client, each route and the store, and no secret', () => {
    const config = loadConfig({ ...team, REDIS_URL: 'rediss+cluster://app:redis-pw@h1:6379,h2:6379' });
    const banner = startBanner({ config, open: 'http://localhost:3000' });
    expect(banner).toContain(
      'OpenID Provider: https://login.example.com/realms/team as client "team-app" (yours: no dev provider started)',
    );
    expect(banner).toContain('Redirect URI:    http://localhost:3000/bff/callback');
    expect(banner).toContain('/api -> https://api.example.com/v1');
    expect(banner).toContain('/live -> https://ws.example.com (token=user-or-none, websocket)');
    expect(banner).toContain('Sessions:        Redis at rediss+cluster://app:***@h1:6379,h2:6379');
    for (const secret of ['the-client-secret-never-printed', 'redis-pw']) expect(banner).not.toContain(secret);
  });

  it('says when sessions are in memory', () => {
    expect(startBanner({ config: loadConfig(team), open: 'http://localhost:3000' })).toContain('Sessions:        in memory');
  });
});

describe('redisUrlForDisplay', () => {
  it('hides the password of every URL form, keeping the ACL user name', () => {
    expect(redisUrlForDisplay('rediss://default:pw@cache.example.com:6380/0')).toBe('rediss://default:***@cache.example.com:6380/0');
    expect(redisUrlForDisplay('redis+sentinel://:pw@h1:26379,h2:26379/mymaster')).toBe('redis+sentinel://:***@h1:26379,h2:26379/mymaster');
    expect(redisUrlForDisplay('redis://pw-only@h')).toBe('redis://***@h');
    expect(redisUrlForDisplay('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});
