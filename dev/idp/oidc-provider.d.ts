/**
 * Just enough typing of `oidc-provider` (v9 ships none, and the kit does not depend on the
 * community `@types` package) for the dev provider to compile under `strict`. Only what
 * dev/idp uses is declared; widen it here when you use more of the library.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';
  import type Koa from 'koa';

  export type JsonObject = Record<string, unknown>;

  /** Client registration metadata (RFC 7591 names), as given in `clients`. */
  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    client_name?: string;
    redirect_uris?: string[];
    post_logout_redirect_uris?: string[];
    grant_types?: string[];
    response_types?: string[];
    token_endpoint_auth_method?: string;
    backchannel_logout_uri?: string;
    backchannel_logout_session_required?: boolean;
    scope?: string;
    /** Public keys for private_key_jwt client assertions (RFC 7523). */
    jwks?: { keys: JsonObject[] };
    /** Refuse token requests without a DPoP proof (RFC 9449 §5.2). */
    dpop_bound_access_tokens?: boolean;
    /** Refuse authorization requests that were not pushed first (RFC 9126 §6). */
    require_pushed_authorization_requests?: boolean;
    /** Every ID token carries `auth_time`. */
    require_auth_time?: boolean;
  }

  /** A registered client as the provider hands it to hooks. */
  export interface Client {
    clientId: string;
    clientName?: string;
    backchannelLogoutUri?: string;
    grantTypeAllowed(type: string): boolean;
  }

  export interface Account {
    accountId: string;
    claims(use: string, scope: string, claims: unknown, rejected: string[]): JsonObject | Promise<JsonObject>;
  }

  export interface ResourceServerInfo {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'opaque' | 'jwt';
    jwt?: { sign?: { alg?: string; kid?: string } };
  }

  /** What the provider persists through an adapter. */
  export interface AdapterPayload {
    [key: string]: unknown;
    jti?: string;
    grantId?: string;
    uid?: string;
    userCode?: string;
    consumed?: number;
  }

  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface Session {
    accountId?: string;
    /** How the session's user last authenticated (the login result's `acr`). */
    acr?: string;
    state?: { secret?: string; clientId?: string; postLogoutRedirectUri?: string };
  }

  /** `ctx.oidc`: the provider's per-request context. */
  export interface OIDCContext {
    route?: string;
    uid: string;
    client?: Client;
    session?: Session;
    params?: Record<string, unknown>;
    entities: Record<string, unknown>;
    urlFor(name: string, params?: Record<string, string>): string;
  }

  export type KoaContextWithOIDC = Koa.Context & { oidc: OIDCContext };

  /** Details of the interaction in progress (`provider.interactionDetails`). */
  export interface Interaction {
    uid: string;
    returnTo: string;
    grantId?: string;
    prompt: {
      name: 'login' | 'consent' | string;
      reasons: string[];
      details: {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
    };
    params: Record<string, unknown> & { client_id: string; scope?: string };
    session?: { accountId?: string; uid?: string };
  }

  export interface InteractionResults {
    login?: { accountId: string; remember?: boolean; acr?: string; amr?: string[]; ts?: number };
    consent?: { grantId?: string };
    error?: string;
    error_description?: string;
  }

  export interface Grant {
    readonly jti: string;
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export interface GrantConstructor {
    new (properties: { accountId: string; clientId: string }): Grant;
    find(id: string): Promise<Grant | undefined>;
  }

  /** The configuration keys the dev provider sets (see the oidc-provider docs for all others). */
  export interface Configuration {
    /** Claims added to JWT access tokens (`token` is the AccessToken being issued). */
    extraTokenClaims?: (ctx: KoaContextWithOIDC, token: { sessionUid?: string; clientId?: string }) => Promise<JsonObject | undefined>;
    adapter?: (name: string) => Adapter;
    clients?: ClientMetadata[];
    jwks?: { keys: JsonObject[] };
    cookies?: { keys?: string[]; long?: JsonObject; short?: JsonObject };
    findAccount?: (ctx: KoaContextWithOIDC, sub: string, token?: unknown) => Promise<Account | undefined>;
    claims?: Record<string, string[] | null>;
    scopes?: string[];
    responseTypes?: string[];
    /** `acr` values the provider may put in ID tokens (`acr_values_supported`). */
    acrValues?: string[];
    clientAuthMethods?: string[];
    pkce?: { required?: (ctx: KoaContextWithOIDC, client: Client) => boolean };
    issueRefreshToken?: (ctx: KoaContextWithOIDC, client: Client, code: unknown) => Promise<boolean> | boolean;
    rotateRefreshToken?: boolean | ((ctx: KoaContextWithOIDC) => boolean);
    ttl?: Record<string, number | ((ctx: KoaContextWithOIDC, token: unknown, client?: Client) => number)>;
    interactions?: {
      url?: (ctx: KoaContextWithOIDC, interaction: { uid: string }) => string | Promise<string>;
      policy?: interactionPolicy.Prompt[];
    };
    renderError?: (ctx: KoaContextWithOIDC, out: Record<string, string>, error: Error) => void | Promise<void>;
    clientBasedCORS?: (ctx: KoaContextWithOIDC, origin: string, client: Client) => boolean;
    fetch?: (url: string, options: RequestInit & { dispatcher?: unknown }) => Promise<Response>;
    features?: {
      devInteractions?: { enabled: boolean };
      userinfo?: { enabled: boolean };
      revocation?: {
        enabled: boolean;
        allowedPolicy?: (ctx: KoaContextWithOIDC, client: Client, token: { clientId: string }) => Promise<boolean> | boolean;
      };
      backchannelLogout?: { enabled: boolean };
      clientCredentials?: { enabled: boolean };
      pushedAuthorizationRequests?: { enabled: boolean; requirePushedAuthorizationRequests?: boolean };
      dPoP?: { enabled: boolean; nonceSecret?: Buffer; requireNonce?: (ctx: KoaContextWithOIDC) => boolean };
      fapi?: { enabled: boolean; profile?: '2.0' | '1.0 Final' };
      rpInitiatedLogout?: {
        enabled: boolean;
        logoutSource?: (ctx: KoaContextWithOIDC, form: string) => void | Promise<void>;
        postLogoutSuccessSource?: (ctx: KoaContextWithOIDC) => void | Promise<void>;
      };
      resourceIndicators?: {
        enabled: boolean;
        defaultResource?: (
          ctx: KoaContextWithOIDC,
          client: Client,
          oneOf?: string[],
        ) => Promise<string | string[] | undefined> | string | string[] | undefined;
        useGrantedResource?: (ctx: KoaContextWithOIDC, model: unknown) => Promise<boolean> | boolean;
        getResourceServerInfo?: (
          ctx: KoaContextWithOIDC,
          resourceIndicator: string,
          client: Client,
        ) => Promise<ResourceServerInfo> | ResourceServerInfo;
      };
    };
  }

  /** An access token being issued (a grant handler's `new provider.AccessToken(...)`). */
  export interface AccessToken {
    resourceServer?: ResourceServerInfo;
    scope?: string;
    readonly expiration: number;
    readonly tokenType: string;
    /** Binds the token to a key: `jkt` with a DPoP key's RFC 7638 thumbprint. */
    setThumbprint(kind: 'jkt', thumbprint: string): void;
    save(): Promise<string>;
  }

  export interface AccessTokenConstructor {
    new (properties: { accountId: string; client: Client; gty: string; scope?: string }): AccessToken;
  }

  export class Provider extends Koa {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    readonly Grant: GrantConstructor;
    readonly AccessToken: AccessTokenConstructor;
    /** Adds a grant type to the token endpoint; `params` are the request parameters it reads. */
    registerGrantType(name: string, handler: (ctx: KoaContextWithOIDC) => Promise<void>, params?: string[], dupes?: string[]): void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionResult(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<string>;
  }

  /** Which prompts a sign-in needs and why (the library's interaction policy helpers). */
  export namespace interactionPolicy {
    class Check {
      static readonly REQUEST_PROMPT: true;
      static readonly NO_NEED_TO_PROMPT: false;
      constructor(reason: string, description: string, check: (ctx: KoaContextWithOIDC) => boolean | Promise<boolean>);
    }
    interface Prompt {
      name: string;
      checks: Check[] & { add(check: Check, index?: number): void };
    }
    function base(): Prompt[] & { get(name: string): Prompt | undefined };
  }

  export const errors: {
    InvalidRequest: new (description?: string) => Error;
    InvalidGrant: new (description?: string) => Error;
    InvalidScope: new (description?: string, scope?: string) => Error;
    InvalidTarget: new (description?: string) => Error;
    InvalidDpopProof: new (description?: string) => Error;
    SessionNotFound: new (description?: string) => Error;
  };

  export default Provider;
}
