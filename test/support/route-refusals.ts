import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

/**
 * Starts the BFF (`bff/src/main.ts`) with `API_ROUTES` made of the `bad` entries and checks it
 * exits 1 with one line per entry, naming it and saying what is wrong with it.
 */
export function expectRouteRefusals(bad: ReadonlyArray<readonly [entry: string, message: string]>): void {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'bff/src/main.ts'], {
    env: {
      PATH: process.env.PATH,
      OIDC_ISSUER: 'http://127.0.0.1:1',
      OIDC_CLIENT_ID: 'x',
      OIDC_CLIENT_SECRET: 'y',
      API_ROUTES: bad.map(([entry]) => entry).join(','),
      LOG_LEVEL: 'silent',
    },
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(result.status).toBe(1);
  const lines = result.stderr.split('\n').filter((line) => line.includes('API_ROUTES'));
  expect(lines).toEqual(bad.map(([entry, message]) => expect.stringContaining(`API_ROUTES entry "${entry}": ${message}`)));
}
