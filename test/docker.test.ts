import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../bff/src/config.js';

const root = fileURLToPath(new URL('..', import.meta.url));

interface ComposeService {
  build?: { context: string; dockerfile: string };
  image?: string;
  environment?: Record<string, string>;
  ports?: unknown[];
  depends_on?: Record<string, unknown> | string[];
  command?: string[];
}

/** The compose file as Docker would resolve it (Docker itself cannot run on our machines). */
function resolvedCompose(): { services: Record<string, ComposeService>; volumes?: Record<string, unknown> } {
  const result = spawnSync('docker-compose', ['-f', 'docker/compose.yml', 'config'], { cwd: root, encoding: 'utf8' });
  if (result.error) throw new Error('docker-compose not found: install it (Debian: apt-get install -y docker-compose) to validate docker/compose.yml');
  expect(result.status, result.stderr).toBe(0);
  return parse(result.stdout);
}

describe('docker', () => {
  it('has a valid compose file with redis (persistent), idp, api and bff', () => {
    const { services, volumes } = resolvedCompose();
    expect(Object.keys(services).sort()).toEqual(['api', 'bff', 'idp', 'redis']);
    expect(services.redis!.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
    expect(Object.keys(volumes ?? {})).toContain('redis-data');
    expect(JSON.stringify(services.bff!.ports)).toMatch(/3000/);
  });

  it("gives the BFF an environment its own configuration schema accepts in production", () => {
    const { services } = resolvedCompose();
    const env = services.bff!.environment!;
    const config = loadConfig(env);
    expect(config.production).toBe(true);
    expect(config.host).toBe('0.0.0.0');
    // Every URL points at a service of the compose file, on the port that service listens on.
    expect(new URL(config.redisUrl!).hostname).toBe('redis');
    const [route] = config.apiRoutes;
    expect(route!.upstream.hostname).toBe('api');
    expect(route!.upstream.port).toBe(services.api!.environment!.API_PORT);
    expect(config.issuer.href).toBe(`${services.idp!.environment!.IDP_ISSUER}/`);
    expect(services.api!.environment!.OIDC_ISSUER).toBe(services.idp!.environment!.IDP_ISSUER);
    // The provider knows this client exactly as the BFF presents itself.
    const idp = services.idp!.environment!;
    expect(idp.IDP_CLIENT_ID).toBe(config.clientId);
    expect(idp.IDP_CLIENT_SECRET).toBe(config.clientSecret);
    expect(idp.IDP_REDIRECT_URIS).toBe(new URL('/bff/callback', config.publicUrl).href);
    expect(idp.IDP_POST_LOGOUT_URIS).toBe(new URL('/', config.publicUrl).href);
    expect(idp.IDP_BACKCHANNEL_URI).toBe(`http://bff:${config.port}/bff/backchannel-logout`);
    expect(idp.IDP_API_AUDIENCE).toBe(services.api!.environment!.API_AUDIENCE);
  });

  it('builds only from paths that exist, runs as non-root and checks health', () => {
    const { services } = resolvedCompose();
    for (const service of Object.values(services)) {
      if (!service.build) continue;
      const dockerfile = readFileSync(`${root}/docker/${service.build.dockerfile.split('/').pop()}`, 'utf8');
      for (const line of dockerfile.split('\n')) {
        const copy = /^COPY\s+(?!--from)(?:--\S+\s+)*(.+)\s+\S+$/.exec(line.trim());
        if (!copy) continue;
        for (const source of copy[1]!.split(/\s+/)) expect(existsSync(`${root}/${source}`), `${source} in ${service.build.dockerfile}`).toBe(true);
      }
      expect(dockerfile).toMatch(/^USER node$/m);
    }
    const bff = readFileSync(`${root}/docker/Dockerfile`, 'utf8');
    expect(bff).toMatch(/^HEALTHCHECK /m);
    expect(bff).toMatch(/npm ci --omit=dev/);
    expect(bff.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2);
    const startBff = (JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts['start:bff']!;
    expect(bff).toContain(`CMD ${JSON.stringify(startBff.split(' '))}`.replace(/","/g, '", "'));
  });
});
