import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../bff/src/config.js';
import {
  COMPOSE_SCHEMA_PATH,
  composeCli,
  composeSchemaErrors,
  interpolatedValues,
  parseCompose,
  type ComposeFile,
  type ComposeService,
} from './support/compose.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const composePath = join(root, 'docker/compose.yml');

/** docker/compose.yml, schema-validated (Docker itself cannot run on our machines). */
function compose(): ComposeFile {
  return parseCompose(readFileSync(composePath, 'utf8'), 'docker/compose.yml');
}

function environment(service: ComposeService): Record<string, string> {
  const env = service.environment;
  if (!env || Array.isArray(env)) throw new Error('environment is expected as a mapping');
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value === null ? '' : String(value)]));
}

/** A service's Dockerfile and build context, resolved as Compose does (relative to the compose file). */
function build(service: ComposeService): { context: string; dockerfile: string } | undefined {
  if (!service.build) return undefined;
  const spec = typeof service.build === 'string' ? { context: service.build } : service.build;
  const context = resolve(dirname(composePath), spec.context ?? '.');
  return { context, dockerfile: resolve(context, spec.dockerfile ?? 'Dockerfile') };
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
function instructions(dockerfile: string): string[] {
  return dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** The instructions of the last stage (from its FROM on): what the image runs. */
function finalStage(lines: string[]): string[] {
  const from = lines.map((line, index) => (/^FROM\s/i.test(line) ? index : -1)).filter((index) => index >= 0);
  return lines.slice(from.at(-1) ?? 0);
}

const cli = composeCli();

describe('the Compose Specification schema (no Docker needed)', () => {
  it('is the vendored copy its note names (sha256)', () => {
    const note = readFileSync(join(root, 'test/fixtures/compose-spec.md'), 'utf8');
    const recorded = /sha256: `([0-9a-f]{64})`/.exec(note)?.[1];
    expect(recorded).toBeDefined();
    expect(createHash('sha256').update(readFileSync(COMPOSE_SCHEMA_PATH)).digest('hex')).toBe(recorded);
  });

  it('accepts docker/compose.yml', () => {
    expect(composeSchemaErrors(parse(readFileSync(composePath, 'utf8')))).toEqual([]);
  });

  it('rejects an unknown top-level key', () => {
    const errors = composeSchemaErrors({ services: { web: { image: 'nginx:1' } }, servces: {} });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\(top level\) must NOT have additional properties .*"servces"/);
    expect(() => parseCompose('services:\n  web:\n    image: nginx:1\nservces: {}\n')).toThrow(/does not follow the Compose Specification/);
  });

  it('rejects a service with ports: 5', () => {
    expect(composeSchemaErrors({ services: { web: { image: 'nginx:1', ports: 5 } } })).toEqual([
      '/services/web/ports must be array {"type":"array"}',
    ]);
  });

  it('rejects a depends_on condition Compose does not know, and an unknown service key', () => {
    const errors = composeSchemaErrors({
      services: {
        web: { image: 'nginx:1', depends_on: { db: { condition: 'healthy' } }, restart_policy: 'always' },
        db: { image: 'redis:7' },
      },
    });
    expect(
      errors.some((error) => error.startsWith('/services/web/depends_on/db/condition must be equal to one of the allowed values')),
    ).toBe(true);
    expect(
      errors.some((error) => error.startsWith('/services/web must NOT have additional properties') && error.includes('restart_policy')),
    ).toBe(true);
  });

  it('rejects duplicate keys, as Compose does', () => {
    expect(() => parseCompose('services:\n  web:\n    image: nginx:1\n    image: nginx:2\n')).toThrow(/unique/i);
  });
});

describe('docker', () => {
  it('has a valid compose file with redis (persistent), idp, two demo APIs and bff, plus Prometheus, Grafana and Jaeger behind the observability profile', () => {
    const { services, volumes } = compose();
    expect(Object.keys(services).sort()).toEqual(['api', 'bff', 'grafana', 'idp', 'jaeger', 'prometheus', 'redis', 'reports']);
    // `docker compose up` starts the kit alone; the observability services only with --profile observability.
    const byDefault = Object.entries(services)
      .filter(([, service]) => !service.profiles?.length)
      .map(([name]) => name);
    expect(byDefault.sort()).toEqual(['api', 'bff', 'idp', 'redis', 'reports']);
    for (const name of ['grafana', 'jaeger', 'prometheus']) expect(services[name]!.profiles, name).toEqual(['observability']);
    expect(services.redis!.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
    expect(Object.keys(volumes ?? {})).toContain('redis-data');
    expect(JSON.stringify(services.bff!.ports)).toMatch(/3000/);
  });

  it('wires the observability profile: Prometheus scrapes the BFF with the alert rules, Grafana provisions the dashboard, the BFF exports traces to Jaeger', () => {
    const { services } = compose();
    const mounts = (name: string) =>
      new Map(
        (services[name]!.volumes ?? []).map((volume) => {
          const [source, target] = typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target];
          return [target!, resolve(dirname(composePath), source!)];
        }),
      );
    for (const name of ['grafana', 'jaeger', 'prometheus']) expect(services[name]!.image, name).toMatch(/^[\w./-]+:v?\d+\.\d+\.\d+$/); // a pinned release, not a moving tag
    const prometheus = mounts('prometheus');
    const scrape = parse(readFileSync(prometheus.get('/etc/prometheus/prometheus.yml')!, 'utf8')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[] }[];
    };
    const config = loadConfig(environment(services.bff!));
    // Prometheus scrapes the metrics listener, which is not published to the host (/metrics is 404 on the public port).
    expect(config.metrics.port).toBeDefined();
    expect(scrape.scrape_configs[0]!.static_configs[0]!.targets).toEqual([`bff:${config.metrics.port}`]);
    expect(JSON.stringify(services.bff!.ports)).not.toContain(String(config.metrics.port));
    expect(scrape.scrape_configs[0]!.metrics_path).toBe('/metrics');
    for (const file of scrape.rule_files) expect(existsSync(prometheus.get(file)!), file).toBe(true);
    const grafana = mounts('grafana');
    expect(existsSync(join(grafana.get('/var/lib/grafana/dashboards')!, 'bff.json'))).toBe(true);
    const provisioning = grafana.get('/etc/grafana/provisioning')!;
    const sources = (
      parse(readFileSync(join(provisioning, 'datasources/datasources.yml'), 'utf8')) as { datasources: { type: string; url: string }[] }
    ).datasources;
    expect(sources.map(({ type, url }) => `${type} ${url}`).sort()).toEqual([
      'jaeger http://jaeger:16686',
      'prometheus http://prometheus:9090',
    ]);
    const dashboards = parse(readFileSync(join(provisioning, 'dashboards/dashboards.yml'), 'utf8')) as {
      providers: { options: { path: string } }[];
    };
    expect(dashboards.providers[0]!.options.path).toBe('/var/lib/grafana/dashboards');
    // Jaeger's OTLP/HTTP receiver, with OpenTelemetry's default encoding.
    expect(config.tracing).toMatchObject({ url: 'http://jaeger:4318/v1/traces', protocol: 'http/protobuf', serviceName: 'bff' });
  });

  it('uses no variable interpolation, so the file as written is the file Compose runs', () => {
    expect(interpolatedValues(compose())).toEqual([]);
    expect(interpolatedValues({ services: { web: { environment: { A: '${HOME}' } } } })).toEqual(['/services/web/environment/A']);
  });

  it('gives the BFF an environment its own configuration schema accepts in production', () => {
    const { services } = compose();
    const env = environment(services.bff!);
    const config = loadConfig(env);
    expect(config.production).toBe(true);
    expect(config.host).toBe('0.0.0.0');
    // Every URL points at a service of the compose file, on the port that service listens on.
    expect(new URL(config.redisUrl!).hostname).toBe('redis');
    const route = config.apiRoutes.find((candidate) => candidate.prefix === '/api');
    expect(route!.upstream.hostname).toBe('api');
    expect(route!.upstream.port).toBe(environment(services.api!).API_PORT);
    const idp = environment(services.idp!);
    expect(config.issuer.href).toBe(`${idp.IDP_ISSUER}/`);
    expect(environment(services.api!).OIDC_ISSUER).toBe(idp.IDP_ISSUER);
    // The provider knows this client exactly as the BFF presents itself.
    expect(idp.IDP_CLIENT_ID).toBe(config.clientId);
    expect(idp.IDP_CLIENT_SECRET).toBe(config.clientSecret);
    expect(idp.IDP_REDIRECT_URIS).toBe(new URL('/bff/callback', config.publicUrl).href);
    expect(idp.IDP_POST_LOGOUT_URIS).toBe(new URL('/', config.publicUrl).href);
    expect(idp.IDP_BACKCHANNEL_URI).toBe(`http://bff:${config.port}/bff/backchannel-logout`);
    expect(idp.IDP_API_AUDIENCE).toBe(environment(services.api!).API_AUDIENCE);
  });

  it('builds only from paths that exist, from pinned base images, and runs every built image as non-root', () => {
    const { services } = compose();
    const built = Object.entries(services).filter(([, service]) => service.build);
    expect(built.map(([name]) => name).sort()).toEqual(['api', 'bff', 'idp', 'reports']);
    for (const [name, service] of built) {
      const { context, dockerfile } = build(service)!;
      expect(existsSync(join(context, 'package.json')), `${name}: build context ${context}`).toBe(true);
      expect(existsSync(dockerfile), `${name}: ${dockerfile}`).toBe(true);
      const lines = instructions(readFileSync(dockerfile, 'utf8'));
      const stages = new Set<string>();
      for (const line of lines) {
        const from = /^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
        if (from) {
          const image = from[1]!;
          if (!stages.has(image)) expect(image, `${name}: ${line}`).toMatch(/^[\w./-]+:(?!latest\b)[\w.-]+(@sha256:[0-9a-f]{64})?$/);
          if (from[2]) stages.add(from[2]);
          continue;
        }
        const copy = /^(?:COPY|ADD)\s+(.*)$/i.exec(line);
        if (!copy) continue;
        const words = copy[1]!.split(/\s+/);
        const flags = words.filter((word) => word.startsWith('--'));
        if (flags.some((flag) => flag.startsWith('--from='))) continue;
        const sources = words.filter((word) => !word.startsWith('--')).slice(0, -1);
        expect(sources.length, `${name}: ${line}`).toBeGreaterThan(0);
        for (const source of sources) expect(existsSync(join(context, source)), `${source} in ${dockerfile}`).toBe(true);
      }
      const user = finalStage(lines)
        .filter((line) => /^USER\s/i.test(line))
        .at(-1);
      expect(user, `${name}: the final stage sets USER`).toBeDefined();
      expect(user!.split(/\s+/)[1], `${name}: ${user}`).not.toMatch(/^(root|0)(:|$)/);
      // A `user:` in the compose file would override the image's USER.
      if (services[name]!.user !== undefined) expect(services[name]!.user, `${name}: user`).not.toMatch(/^(root|0)(:|$)/);
    }
  });

  it('checks health: the BFF image has a HEALTHCHECK, and every service waited on as healthy has one', () => {
    const { services } = compose();
    const bff = readFileSync(build(services.bff!)!.dockerfile, 'utf8');
    expect(bff).toMatch(/^HEALTHCHECK /m);
    expect(bff).toMatch(/npm ci --omit=dev/);
    expect(bff.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2);
    const startBff = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts[
      'start:bff'
    ]!;
    expect(bff).toContain(`CMD ${JSON.stringify(startBff.split(' '))}`.replace(/","/g, '", "'));

    const waitedOn = Object.values(services).flatMap((service) =>
      Array.isArray(service.depends_on)
        ? []
        : Object.entries(service.depends_on ?? {})
            .filter(([, dep]) => dep.condition === 'service_healthy')
            .map(([name]) => name),
    );
    expect(waitedOn).toContain('redis');
    for (const name of waitedOn) {
      const service = services[name];
      expect(service, `depends_on names ${name}, a service of the file`).toBeDefined();
      const image = build(service!);
      const hasCheck =
        (service!.healthcheck?.test !== undefined && service!.healthcheck.disable !== true) ||
        (image !== undefined && /^HEALTHCHECK\s+(?!NONE)/im.test(readFileSync(image.dockerfile, 'utf8')));
      expect(hasCheck, `${name} is waited on with service_healthy but has no health check`).toBe(true);
    }
  });

  it.runIf(cli !== undefined)(
    `\`${(cli ?? ['docker-compose']).join(' ')} config\` accepts the file and resolves it as the schema-based checks read it (runs only where a Compose CLI is installed)`,
    () => {
      const [program, ...args] = cli as [string, ...string[]];
      const result = spawnSync(program, [...args, '-f', 'docker/compose.yml', 'config'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      expect(result.error).toBeUndefined();
      expect(result.status, result.stderr).toBe(0);
      const resolved = parse(result.stdout) as ComposeFile;
      const written = compose();
      expect(Object.keys(resolved.services).sort()).toEqual(Object.keys(written.services).sort());
      for (const [name, service] of Object.entries(written.services)) {
        if (service.environment) expect(environment(resolved.services[name]!), name).toEqual(environment(service));
        if (service.command) expect(resolved.services[name]!.command, name).toEqual(service.command);
      }
      expect(loadConfig(environment(resolved.services.bff!)).production).toBe(true);
    },
  );
});
