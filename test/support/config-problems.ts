import { ConfigError, loadConfig } from '../../bff/src/config.js';

/** The least configuration that starts (development): a provider and a client. */
export const BASE_ENV = { OIDC_ISSUER: 'https://id.example.com', OIDC_CLIENT_ID: 'kit', OIDC_CLIENT_SECRET: 's3cret' };

/** The problems loadConfig reports for `env` (none when it loads). */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}
