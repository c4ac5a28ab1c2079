import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEntryPoint } from '../bff/src/entry-point.js';
import { freePort } from './support/redis.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** Every non-test .ts file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .map((file) => join(dir, file));
}

/**
 * A built checkout at `at`: the sources, node_modules (linked), and dist/ as `npm run build:server`
 * lays it out. Transpiled file by file (no type check: `npm run typecheck` does that), which takes
 * a second where tsc takes fifteen.
 */
function builtCheckout(at: string): void {
  mkdirSync(at, { recursive: true });
  for (const file of ['package.json', 'tsconfig.json']) cpSync(join(root, file), join(at, file));
  for (const dir of ['bff/src', 'shared/src']) cpSync(join(root, dir), join(at, dir), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(at, 'node_modules'), 'dir');
  const { options } = ts.convertCompilerOptionsFromJson(
    (JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { compilerOptions: object }).compilerOptions,
    root,
  );
  for (const file of [...sources(join(root, 'bff/src')), ...sources(join(root, 'shared/src'))]) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: { ...options, module: ts.ModuleKind.ESNext },
    });
    const out = join(at, 'dist', relative(root, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
}

/** Runs `command` (a shell line, as npm runs scripts) in `cwd` until /healthz answers; the status seen. */
async function healthzOf(command: string, cwd: string): Promise<{ status: number; output: string }> {
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn(command, {
    cwd,
    shell: true,
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      OIDC_ISSUER: 'http://127.0.0.1:9/issuer', // nothing listens: readiness waits, liveness answers
      OIDC_CLIENT_ID: 'kit',
      OIDC_CLIENT_SECRET: 'a-secret-for-this-test-only',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    let status = 0;
    for (let i = 0; i < 100 && status !== 200 && child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.status,
        () => 0,
      );
    }
    return { status, output };
  } finally {
    // The whole group: npm, its shell and node.
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
  }
}

describe('start:bff and keys from any checkout path', () => {
  let base: string;
  let spaced: string;
  let linked: string;
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'bff-path-'));
    spaced = join(base, 'my projects', 'bff kit');
    builtCheckout(spaced);
    linked = join(base, 'link');
    symlinkSync(spaced, linked, 'dir');
  });
  afterAll(() => {
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it('npm run start:bff listens when the checkout path has spaces', async () => {
    const { status, output } = await healthzOf('npm run --silent start:bff', spaced);
    expect(status, output).toBe(200);
    expect(output).toContain('BFF listening');
  });

  it("start:bff's command listens when its script is named through a symlink (as a process manager does)", async () => {
    const command = scripts['start:bff']!.replace('dist/bff/src/main.js', JSON.stringify(join(linked, 'dist/bff/src/main.js')));
    expect(command).not.toBe(scripts['start:bff']);
    const { status, output } = await healthzOf(command, base);
    expect(status, output).toBe(200);
  });

  it('npm run keys prints a key from a path with spaces and through a symlink', () => {
    const spacedRun = spawnSync('npm', ['run', '--silent', 'keys'], { cwd: spaced, encoding: 'utf8', timeout: 20_000 });
    expect(spacedRun.stdout).toContain('-----BEGIN PRIVATE KEY-----');
    // --import resolves tsx from the working directory (the checkout's node_modules).
    const linkedRun = spawnSync(process.execPath, ['--import', 'tsx', join(linked, 'bff/src/tools/keys.ts')], {
      cwd: linked,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(linkedRun.stdout).toContain('-----BEGIN PRIVATE KEY-----');
  });
});

describe('isEntryPoint', () => {
  const here = fileURLToPath(import.meta.url);
  it('matches the module whatever form the started path takes', () => {
    expect(isEntryPoint(import.meta.url, here)).toBe(true);
    expect(isEntryPoint(import.meta.url, relative(process.cwd(), here))).toBe(true);
  });
  it('does not match another script, a missing one, or none', () => {
    expect(isEntryPoint(import.meta.url, join(root, 'package.json'))).toBe(false);
    expect(isEntryPoint(import.meta.url, join(root, 'no-such-file.js'))).toBe(false);
    expect(isEntryPoint(import.meta.url, undefined)).toBe(false);
  });
});
