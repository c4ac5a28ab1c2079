/**
 * The development OpenID Provider of the kit: a local stand-in for a real provider, built on
 * `oidc-provider`, with its own sign-in and consent pages, two demo users, JWT access tokens for
 * the demo API, refresh token rotation, revocation, RP-initiated and back-channel logout, and
 * the FAPI 2.0 toolbox: private_key_jwt clients, pushed authorization requests, DPoP (with nonces).
 */
export type { IdpClient, IdpSecurityProfile } from './configuration.js';
export { API_SCOPE, FAPI_PROFILE, LEDGER_API, PLAIN_PROFILE, REPORTS_API } from './configuration.js';
export { TOKEN_EXCHANGE_GRANT } from './token-exchange.js';
export { MFA_ACR, PASSWORD_ACR } from './second-factor.js';
export type { IdpStats } from './stats.js';
export { startIdp, type IdpOptions, type RunningIdp } from './start-idp.js';
export { DEMO_USERS, type DemoUser } from './users.js';
