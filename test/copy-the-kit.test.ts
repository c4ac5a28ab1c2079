import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../bff/src/config.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (file: string) => readFileSync(join(root, file), 'utf8');

/** Variables only `npm start`/`npm run dev` read (dev/start.ts, web/vite.config.ts), never the BFF. */
const DEV_ONLY = ['WEB_PORT', 'BFF_URL', 'IDP_PORT', 'API_PORT', 'REPORTS_PORT', 'API_AUDIENCE', 'DEMO_FAPI'];
/** Named in docs/budgets.md: listed even before the schema reads them all. */
const THIRD_STAGE = [
  'API_MAX_CALLS_PER_SESSION',
  'API_BODY_TIMEOUT_MS',
  'WS_MAX_MESSAGE_BYTES',
  'SHUTDOWN_TIMEOUT_MS',
  'METRICS_PORT',
  'METRICS_HOST',
];

describe('what a team copying the kit needs at the root', () => {
  it('an MIT LICENSE, and package.json says so', () => {
    expect(read('LICENSE')).toMatch(/^MIT License\n\nCopyright \(c\) 2026 the bff-kit authors\n/);
    expect((JSON.parse(read('package.json')) as { license?: string }).license).toBe('MIT');
  });

  it('SECURITY.md says how to report a vulnerability privately', () => {
    expect(read('SECURITY.md')).toMatch(/^## Reporting a vulnerability\n[^]*Report a vulnerability/m);
  });

  describe('.env.example', () => {
    const lines = read('.env.example').split('\n');
    /** Each `# NAME=default` line, in order. */
    const listed = lines.flatMap((line) => /^# ([A-Z][A-Z0-9_]*)=/.exec(line)?.[1] ?? []);

    it("lists every variable of the configuration schema, and the third stage's", () => {
      expect(CONFIG_VARIABLES.length).toBeGreaterThan(30);
      for (const name of [...CONFIG_VARIABLES, ...THIRD_STAGE, ...DEV_ONLY]) expect(listed, name).toContain(name);
    });

    it('lists nothing the kit does not read, each variable once', () => {
      for (const name of listed) expect([...CONFIG_VARIABLES, ...THIRD_STAGE, ...DEV_ONLY], name).toContain(name);
      expect(new Set(listed).size).toBe(listed.length);
    });

    it('sets nothing (every variable commented out) and gives each one a line of meaning above it', () => {
      expect(lines.filter((line) => /^\s*[A-Za-z_][A-Za-z0-9_]*\s*=/.test(line))).toEqual([]);
      for (const [index, line] of lines.entries()) {
        if (!/^# [A-Z][A-Z0-9_]*=/.test(line)) continue;
        const above = lines[index - 1] ?? '';
        expect(above.startsWith('# ') && !/^# [A-Z][A-Z0-9_]*=/.test(above), line).toBe(true);
      }
    });
  });

  it('HOST is loopback by default, and the Docker image listens on every interface', () => {
    expect(loadConfig({ OIDC_ISSUER: 'https://op.example', OIDC_CLIENT_ID: 'c', OIDC_CLIENT_SECRET: 's' }).host).toBe('127.0.0.1');
    const finalStage = read('docker/Dockerfile')
      .split(/^FROM /m)
      .at(-1)!;
    expect(finalStage).toMatch(/^\s*HOST=0\.0\.0\.0\b/m);
    expect(read('README.md')).toMatch(/`HOST` defaults to `127\.0\.0\.1`[^]*HOST=0\.0\.0\.0/);
  });

  it('.nvmrc names the Node major the Docker image runs', () => {
    const major = read('.nvmrc').trim();
    expect(major).toBe('24');
    expect(read('docker/Dockerfile')).toMatch(new RegExp(`^FROM node:${major}-`, 'm'));
  });

  it('.dockerignore keeps installed and built trees, secrets, test output and history out of the build context, and nothing the Dockerfile copies', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    for (const entry of ['node_modules', 'dist', 'web/dist', 'test/artifacts', '.env', '.git']) expect(ignored, entry).toContain(entry);
    const copied = [...read('docker/Dockerfile').matchAll(/^COPY (?!--from)(?:--\S+ )*(.+) \S+$/gm)].flatMap((match) =>
      match[1]!.split(/\s+/),
    );
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'bff', 'web']));
    for (const source of copied) expect(ignored, source).not.toContain(source);
  });
});
