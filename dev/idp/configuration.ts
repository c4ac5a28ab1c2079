import { randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import { errors, type ClientMetadata, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { createMemoryAdapter, type MemoryAdapter } from './memory-adapter.js';
import { errorPage, logoutPage, signedOutPage } from './pages.js';
import { TOKEN_EXCHANGE_GRANT } from './token-exchange.js';
import { MFA_ACR, PASSWORD_ACR, policyWithSecondFactor } from './second-factor.js';
import { findAccount, userBySub } from './users.js';

/** A client registered at the dev provider (RFC 7591 metadata names). */
export interface IdpClient {
  client_id: string;
  /** Required unless `token_endpoint_auth_method` is private_key_jwt. */
  client_secret?: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  backchannel_logout_uri?: string;
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  /** The client's public keys, for private_key_jwt (what `npm run keys` prints as the public JWK). */
  jwks?: { keys: JWK[] };
  /** Every token request of this client must carry a DPoP proof. */
  dpop_bound_access_tokens?: boolean;
  /** This client's authorization requests must be pushed (PAR) first. */
  require_pushed_authorization_requests?: boolean;
  /** false: this client may not use the token-exchange grant (default: it may). */
  token_exchange?: boolean;
}

/**
 * How the dev provider plays the FAPI 2.0 toolbox (issue 15): pushed authorization requests
 * `off` (not advertised), `optional` (advertised) or `required` (advertised and enforced for every
 * client); DPoP is always available (oidc-provider's default), with `dpopNonce` the provider also
 * demands its own nonce in proofs (RFC 9449 §8); `fapi` turns on oidc-provider's FAPI 2.0
 * profile checks (PKCE, client assertion audience, redirect_uri always present...).
 */
export interface IdpSecurityProfile {
  par: 'off' | 'optional' | 'required';
  dpopNonce: boolean;
  fapi: boolean;
}

export const PLAIN_PROFILE: IdpSecurityProfile = { par: 'off', dpopNonce: false, fapi: false };
/** What `DEMO_FAPI=1 npm start` runs: everything FAPI 2.0 asks for that the kit supports. */
export const FAPI_PROFILE: IdpSecurityProfile = { par: 'required', dpopNonce: true, fapi: true };

/** The scope of the demo API, for clients that want it in the access token's `scope`. */
export const API_SCOPE = 'notes';

/**
 * A second demo API with an audience of its own: the BFF gets its tokens with RFC 8707
 * `resource` on a refresh (user tokens) or a client-credentials grant (the BFF's own token).
 */
export const REPORTS_API = { audience: 'urn:bff-kit:reports-api', scope: 'reports.read' } as const;

/**
 * A third demo API whose tokens the provider issues only by token exchange (RFC 8693, see
 * token-exchange.ts): neither sign-in nor a refresh with `resource` reaches it.
 */
export const LEDGER_API = { audience: 'urn:bff-kit:ledger-api', scope: 'ledger.read' } as const;

/** The audiences the provider issues tokens for at sign-in and refresh, with their scopes; the first is the default. */
export function grantableAudiences(apiAudience: string): Map<string, string> {
  return new Map<string, string>([
    [apiAudience, API_SCOPE],
    [REPORTS_API.audience, REPORTS_API.scope],
  ]);
}

/** The audiences a token exchange may ask for: the grantable ones and the exchange-only ledger API. */
export function exchangeAudiences(apiAudience: string): Map<string, string> {
  return new Map([...grantableAudiences(apiAudience), [LEDGER_API.audience, LEDGER_API.scope]]);
}

/** Where a sign-in starts (directly, or pushed first: RFC 9126). */
const AUTHORIZATION_ROUTES = new Set(['authorization', 'pushed_authorization_request']);

/** Lifetimes in seconds. Sessions, grants and refresh tokens outlive a working day of testing. */
const TTL = {
  AuthorizationCode: 60,
  IdToken: 60 * 60,
  Interaction: 10 * 60,
  RefreshToken: 24 * 60 * 60,
  Session: 24 * 60 * 60,
  Grant: 24 * 60 * 60,
};

/** Registration metadata of a kit client: a confidential web client doing code + refresh. */
function clientMetadata(client: IdpClient): ClientMetadata {
  return {
    client_id: client.client_id,
    ...(client.client_secret ? { client_secret: client.client_secret } : {}),
    ...(client.jwks ? { jwks: { keys: client.jwks.keys.map((key) => ({ ...key })) } } : {}),
    ...(client.dpop_bound_access_tokens ? { dpop_bound_access_tokens: true } : {}),
    ...(client.require_pushed_authorization_requests ? { require_pushed_authorization_requests: true } : {}),
    redirect_uris: client.redirect_uris,
    post_logout_redirect_uris: client.post_logout_redirect_uris,
    grant_types: [
      'authorization_code',
      'refresh_token',
      'client_credentials',
      ...(client.token_exchange === false ? [] : [TOKEN_EXCHANGE_GRANT]),
    ],
    response_types: ['code'],
    token_endpoint_auth_method: client.token_endpoint_auth_method ?? 'client_secret_basic',
    // With session_required the logout token and the ID token carry `sid`, so a client can end
    // exactly the session the provider ends. Without a back-channel URI there is no `sid`.
    ...(client.backchannel_logout_uri
      ? { backchannel_logout_uri: client.backchannel_logout_uri, backchannel_logout_session_required: true }
      : {}),
  };
}

/**
 * The oidc-provider configuration of the dev provider. Every hook whose library default would
 * print a "you SHOULD change this" notice is set here, so a run stays quiet.
 */
export function createConfiguration(input: {
  clients: IdpClient[];
  signingKey: JWK;
  apiAudience: string;
  accessTokenTtl: number;
  profile?: IdpSecurityProfile;
  /** The store (default: a fresh in-memory one). */
  adapter?: MemoryAdapter;
}): Configuration {
  const { apiAudience, accessTokenTtl } = input;
  const profile = input.profile ?? PLAIN_PROFILE;
  // Every audience the provider issues tokens for, with its scopes; the first is the default.
  const resourceScopes = grantableAudiences(apiAudience);
  const adapter = input.adapter ?? createMemoryAdapter();
  return {
    adapter,
    clients: input.clients.map(clientMetadata),
    jwks: { keys: [{ ...input.signingKey }] },
    // Random per run: provider cookies from an earlier run are simply ignored.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    findAccount,
    // demo:start
    // The provider session a token comes from, as the `sid` its ID tokens carry: the demo's "end my
    // other sessions at the provider" keeps that one and ends the others.
    extraTokenClaims: async (_ctx, token) => {
      if (!token.sessionUid || !token.clientId) return undefined;
      const session = await adapter('Session').findByUid(token.sessionUid);
      const authorizations = session?.authorizations as Record<string, { sid?: unknown }> | undefined;
      const sid = authorizations?.[token.clientId]?.sid;
      return typeof sid === 'string' ? { sid } : undefined;
    },
    // demo:end
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    responseTypes: ['code'],
    // Without these the library leaves `acr` out of ID tokens (step-up: second-factor.ts).
    acrValues: [PASSWORD_ACR, MFA_ACR],
    // Discovery then advertises only what the kit's clients use.
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    pkce: { required: () => true },
    // The library only issues a refresh token when offline_access survived, and it drops
    // offline_access unless the request also says prompt=consent. A BFF wants a refresh token
    // on every sign-in without forcing the consent screen, so: always, if the client may.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Every refresh answers with a new refresh token; replaying a used one revokes the grant.
    rotateRefreshToken: true,
    ttl: { ...TTL, AccessToken: accessTokenTtl, ClientCredentials: accessTokenTtl },
    // A second factor on request (acr_values with urn:bff-kit:acr:mfa): see second-factor.ts.
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}`, policy: policyWithSecondFactor() },
    renderError: (ctx, out) =>
      errorPage(ctx, { error: out.error ?? 'server_error', description: out.error_description }, ctx.status >= 400 ? ctx.status : 400),
    // Browsers never call this provider's endpoints cross-origin: the BFF does, server side.
    clientBasedCORS: () => false,
    // The library guards outgoing requests (back-channel logout) against loopback and private
    // addresses. A dev provider must reach the BFF on 127.0.0.1 or a compose network, so this
    // drops that guard; the only targets are the configured clients' back-channel URIs.
    fetch: (url, { dispatcher: _ssrfGuard, ...options }) => globalThis.fetch(url, options),
    features: {
      devInteractions: { enabled: false },
      // The access token is audience-restricted to the API, and the library refuses such tokens
      // at userinfo; the ID token carries the profile and email claims instead.
      userinfo: { enabled: false },
      revocation: {
        enabled: true,
        allowedPolicy: (_ctx, client, token) => {
          if (token.clientId !== client.clientId) throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
          return true;
        },
      },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx) => {
          const { session } = ctx.oidc;
          logoutPage(ctx, {
            action: ctx.oidc.urlFor('end_session_confirm'),
            xsrf: session?.state?.secret ?? '',
            userName: session?.accountId ? userBySub(session.accountId)?.name : undefined,
          });
        },
        postLogoutSuccessSource: (ctx) => signedOutPage(ctx),
      },
      resourceIndicators: {
        enabled: true,
        // Sign-in without `resource` is granted every demo audience, as Entra ID and Auth0 grant
        // an application's pre-approved APIs: the BFF then gets each API's token on a refresh
        // with `resource`, without asking the user again. A token request without `resource`
        // (code exchange, refresh, client credentials) still means the demo API.
        defaultResource: (ctx: KoaContextWithOIDC) =>
          AUTHORIZATION_ROUTES.has(ctx.oidc.route ?? '') ? [...resourceScopes.keys()] : apiAudience,
        // Code and refresh grants without `resource` get a token for what was granted.
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: KoaContextWithOIDC, resource: string) => {
          const scope = resourceScopes.get(resource);
          if (scope === undefined) throw new errors.InvalidTarget(`unknown resource ${resource}`);
          return {
            scope,
            audience: resource,
            accessTokenFormat: 'jwt',
            accessTokenTTL: accessTokenTtl,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
      // The BFF's own token for routes with token=client or user-or-client.
      clientCredentials: { enabled: true },
      pushedAuthorizationRequests: { enabled: profile.par !== 'off', requirePushedAuthorizationRequests: profile.par === 'required' },
      // A token request with a DPoP proof gets a DPoP-bound token (cnf.jkt in the JWT access
      // token); with a nonce secret the provider answers proofs without its nonce with use_dpop_nonce.
      dPoP: {
        enabled: true,
        ...(profile.dpopNonce ? { nonceSecret: randomBytes(32), requireNonce: () => true } : {}),
      },
      fapi: { enabled: profile.fapi, profile: '2.0' },
    },
  };
}
