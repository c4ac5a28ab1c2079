import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chromiumPath } from './support/chromium.js';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Step {
  name?: string;
  uses?: string;
  run?: string;
}
interface Job {
  'runs-on': string;
  env?: Record<string, string>;
  strategy?: { matrix?: { node?: (number | string)[] } };
  steps: Step[];
}
interface Workflow {
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

/**
 * Browsers preinstalled on GitHub's ubuntu-24.04 runner image: its install-google-chrome.sh installs
 * Google Chrome from Google's .deb (and sets CHROME_BIN to this path).
 */
const RUNNER_BROWSERS = ['/usr/bin/google-chrome'];

const workflow = parse(readFileSync(join(root, '.github/workflows/ci.yml'), 'utf8')) as Workflow;
const [job, ...otherJobs] = Object.values(workflow.jobs);
const runs = job!.steps.flatMap((step) => (step.run === undefined ? [] : [step.run]));

/** An npm command without its flags: `npm ci --no-audit` and `npm ci` are the same step. */
function npmStep(command: string): string {
  return command
    .trim()
    .split(/\s+/)
    .filter((word) => !word.startsWith('--'))
    .join(' ');
}

describe('the GitHub Actions workflow', () => {
  it('is one job on ubuntu-24.04 (the image the browser path below is for), on the Node versions .ci/run uses', () => {
    expect(otherJobs).toEqual([]);
    expect(job!['runs-on']).toBe('ubuntu-24.04');
    const engines = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    const minimum = Number(/^>=(\d+)\./.exec(engines)![1]);
    // .ci/run runs the suite under the machine's Node and the core suites again under Node 24.
    expect(job!.strategy?.matrix?.node?.map(Number).sort((a, b) => a - b)).toEqual([minimum, 24]);
  });

  it("installs no chromium-browser (a snap stub on Ubuntu) and points CHROMIUM_PATH at the runner's preinstalled Chrome", () => {
    for (const run of runs) expect(run).not.toMatch(/chromium-browser/);
    for (const install of runs.filter((run) => /apt(-get)? install/.test(run)))
      expect(install.split(/\s+/)).not.toEqual(expect.arrayContaining([expect.stringMatching(/^chromium/)]));
    const path = job!.env?.CHROMIUM_PATH ?? workflow.env?.CHROMIUM_PATH;
    expect(RUNNER_BROWSERS).toContain(path);
    // Nothing later replaces it through $GITHUB_ENV.
    expect(runs.filter((run) => /CHROMIUM_PATH=/.test(run))).toEqual([]);
    // The browser is checked before the tests need it.
    const check = runs.findIndex((run) => run.includes('"$CHROMIUM_PATH" --version'));
    expect(check).toBeGreaterThanOrEqual(0);
    expect(check).toBeLessThan(runs.findIndex((run) => npmStep(run) === 'npm test'));
  });

  it('installs redis-server and docker-compose (the latter for the Compose CLI check)', () => {
    const install = runs.find((run) => /apt-get install/.test(run));
    expect(install).toBeDefined();
    expect(install!.split(/\s+/)).toEqual(expect.arrayContaining(['redis-server', 'docker-compose']));
  });

  it("runs .ci/run's steps in .ci/run's order: npm ci, typecheck, lint, build, npm test", () => {
    const script = readFileSync(join(root, '.ci/run'), 'utf8');
    const ciSteps = script
      .split('\n')
      .flatMap((line) => {
        const step = /^step (npm .*?) \|\|/.exec(line);
        if (step) return [step[1]!];
        return /^npm test$/.test(line.trim()) ? [line] : [];
      })
      .map(npmStep);
    expect(ciSteps).toEqual(['npm ci', 'npm run typecheck', 'npm run lint', 'npm run build', 'npm test']);
    expect(runs.filter((run) => run.trim().startsWith('npm ')).map(npmStep)).toEqual(ciSteps);
  });
});

describe('the browser path for the tests', () => {
  it("is Debian's Chromium unless CHROMIUM_PATH is set and not empty", () => {
    expect(chromiumPath({})).toBe('/usr/bin/chromium');
    expect(chromiumPath({ CHROMIUM_PATH: '' })).toBe('/usr/bin/chromium');
    expect(chromiumPath({ CHROMIUM_PATH: '/usr/bin/google-chrome' })).toBe('/usr/bin/google-chrome');
  });
});
