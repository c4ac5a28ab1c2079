/**
 * The development OpenID Provider of the kit: a local stand-in for a real provider, built on
 * `oidc-provider`, with its own sign-in and consent pages, two demo users, JWT access tokens for
 * the demo API, refresh token rotation, revocation, RP-initiated and back-channel logout.
 */
export type { IdpClient } from './configuration.js';
export { API_SCOPE, REPORTS_API } from './configuration.js';
export type { IdpStats } from './stats.js';
export { startIdp, type IdpOptions, type RunningIdp } from './start-idp.js';
export { DEMO_USERS, type DemoUser } from './users.js';
