import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../dev/idp/index.js';
import { loginThroughIdp } from '../dev/idp/test-login.js';
import { DEMO_PATHS } from '../dev/strip-demo/manifest.js';
import { markedCandidates } from '../dev/strip-demo/strip.js';
import { TestBrowser } from './support/browser.js';
import { STATIC_FIXTURE } from './support/bff.js';
import { freePort } from './support/redis.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const TSX = join(root, 'node_modules/tsx/dist/cli.mjs');
const MARKER = /^\s*(\/\/ demo:(start|end)|<!-- demo:(start|end) -->)\s*$/m;
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=ci@example.invalid', '-c', 'user.name=ci', ...args], { cwd, stdio: 'pipe' });
const strip = (cwd: string, ...args: string[]) =>
  spawnSync(process.execPath, [TSX, 'dev/strip-demo/main.ts', ...args], { cwd, encoding: 'utf8' });

/** The repository as a team gets it: its tracked files, committed in a fresh git, node_modules linked. */
function copyOfTheKit(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bff-strip-'));
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && existsSync(join(root, f)));
  execFileSync('cp', ['--parents', '-t', dir, ...files], { cwd: root });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  git(dir, 'init', '-q');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'copy');
  return dir;
}

describe('npm run strip-demo on a copy of the repository', () => {
  let dir: string;
  beforeAll(() => {
    dir = copyOfTheKit();
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to delete anything in a tree with uncommitted changes, unless --force', () => {
    appendFileSync(join(dir, 'web/src/strings.ts'), '// a change not committed yet\n');
    const refused = strip(dir);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/uncommitted changes.*--force/);
    for (const path of DEMO_PATHS) expect(existsSync(join(dir, path)), path).toBe(true);
    git(dir, 'checkout', '--', 'web/src/strings.ts');
  });

  it('removes the demo files and every marked region, and a second run has nothing to strip', () => {
    const first = strip(dir);
    expect(first.status, first.stderr).toBe(0);
    for (const path of DEMO_PATHS) expect(existsSync(join(dir, path)), path).toBe(false);
    for (const file of markedCandidates(dir)) expect(readFileSync(join(dir, file), 'utf8'), file).not.toMatch(MARKER);
    const shell = readFileSync(join(dir, 'web/src/components/app-shell.ts'), 'utf8');
    expect(shell).not.toMatch(/DemoPanels|demo-panels/);
    expect(shell).toContain('<me-panel');
    expect(readFileSync(join(dir, 'dev/start.ts'), 'utf8')).not.toMatch(/startDemoApi|REPORTS/);

    const second = strip(dir);
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/nothing to strip/);
  });

  it('leaves code that typechecks and an SPA that builds', () => {
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(tsc.status, tsc.stdout).toBe(0);
    const vite = spawnSync(
      process.execPath,
      [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts', '--logLevel', 'error'],
      { cwd: dir, encoding: 'utf8' },
    );
    expect(vite.status, vite.stderr).toBe(0);
    expect(readFileSync(join(dir, 'web/dist/index.html'), 'utf8')).toContain('<script');
  }, 180_000); // a whole-project typecheck and a build: a minute or more while the rest of the suite runs

  it('npm start then runs the minimal app: a signed-in GET /api/me reaches the tiny API through the BFF', async () => {
    const [port, idpPort, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
    let output = '';
    const child = spawn(process.execPath, [TSX, 'dev/start.ts'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        STATIC_DIR: STATIC_FIXTURE,
        LOG_LEVEL: 'warn',
        PORT: String(port),
        IDP_PORT: String(idpPort),
        API_PORT: String(apiPort),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      for (let i = 0; i < 200 && !output.includes('Press Ctrl+C to stop') && child.exitCode === null; i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(output).toContain('Press Ctrl+C to stop');
      expect(output).toContain(`/api -> http://127.0.0.1:${apiPort}`);
      expect(output).not.toMatch(/\/reports|\/public/);

      const bff = `http://localhost:${port}`;
      const browser = new TestBrowser();
      expect((await browser.api(`${bff}/api/me`)).status).toBe(401);
      const start = await browser.fetch(`${bff}/bff/login?returnTo=/`);
      const back = await loginThroughIdp(start.headers.get('location')!, DEMO_USERS[0]!);
      expect((await browser.fetch(back)).status).toBe(302);
      const me = await browser.api(`${bff}/api/me`);
      expect(me.status).toBe(200);
      expect(await me.json()).toMatchObject({ sub: DEMO_USERS[0]!.sub, audience: 'urn:bff-kit:demo-api' });
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
  });
});
