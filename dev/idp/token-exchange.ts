import { calculateJwkThumbprint, createLocalJWKSet, EmbeddedJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { errors, type KoaContextWithOIDC, type Provider } from 'oidc-provider';

/** RFC 8693's grant type and the one token type the dev provider exchanges (and issues). */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/**
 * The token-exchange grant (RFC 8693) for the dev provider, as Keycloak's standard token
 * exchange does it: a client trades an access token the provider issued to it (`subject_token`)
 * for a JWT access token of the same user for another audience (`audience` or `resource`, one of
 * the provider's known APIs). oidc-provider has no such grant; `registerGrantType` adds it.
 * Refusals use RFC 8693 §2.2.2's codes: an unknown audience is `invalid_target`, a token the
 * provider did not issue to this client `invalid_grant`, a malformed request `invalid_request`.
 * With a DPoP proof (RFC 9449) the token is bound to the proof's key (`cnf.jkt`, token type DPoP),
 * as the built-in grants do; this small grant checks the proof's signature, type, method, URL and
 * age, but neither replays nor the provider's nonce.
 */
export function registerTokenExchange(
  provider: Provider,
  options: { signingKey: JWK; audiences: ReadonlyMap<string, string>; accessTokenTtl: number },
): void {
  const { kty, n, e, kid, alg } = options.signingKey;
  const keys = createLocalJWKSet({ keys: [{ kty, n, e, kid, alg }] });

  async function subjectOf(ctx: KoaContextWithOIDC, token: string): Promise<JWTPayload & { sub: string }> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, { issuer: provider.issuer, typ: 'at+jwt', requiredClaims: ['sub'] }));
    } catch {
      throw new errors.InvalidGrant('subject_token is not a valid access token of this provider');
    }
    // A client exchanges only tokens that were issued to it.
    if (payload.client_id !== ctx.oidc.client!.clientId) throw new errors.InvalidGrant('subject_token was issued to another client');
    return payload as JWTPayload & { sub: string };
  }

  /** The thumbprint of the key a DPoP proof on this request was signed with; undefined without a proof. */
  async function dpopKeyOf(ctx: KoaContextWithOIDC): Promise<string | undefined> {
    const proof = ctx.get('dpop');
    if (!proof) return undefined;
    try {
      const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: ['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256'],
        maxTokenAge: '60s',
        requiredClaims: ['jti', 'htm', 'htu', 'iat'],
      });
      if (payload.htm !== 'POST' || payload.htu !== ctx.oidc.urlFor('token')) throw new Error('htm or htu mismatch');
      return await calculateJwkThumbprint(protectedHeader.jwk!);
    } catch {
      throw new errors.InvalidDpopProof('invalid DPoP proof');
    }
  }

  async function exchange(ctx: KoaContextWithOIDC): Promise<void> {
    const params = ctx.oidc.params as Record<string, string | undefined>;
    if (params.subject_token_type !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
    if (params.requested_token_type !== undefined && params.requested_token_type !== ACCESS_TOKEN_TYPE)
      throw new errors.InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
    if (!params.subject_token) throw new errors.InvalidRequest('subject_token is required');
    const { audience, resource } = params;
    if (audience !== undefined && resource !== undefined && audience !== resource)
      throw new errors.InvalidTarget('audience and resource name different APIs');
    const target = audience ?? resource;
    if (target === undefined) throw new errors.InvalidRequest('audience or resource is required');
    const allowed = options.audiences.get(target);
    if (allowed === undefined) throw new errors.InvalidTarget(`unknown audience ${target}`);
    const subject = await subjectOf(ctx, params.subject_token);
    const requested = params.scope?.split(' ').filter(Boolean) ?? allowed.split(' ');
    const unknown = requested.find((scope) => !allowed.split(' ').includes(scope));
    if (unknown !== undefined) throw new errors.InvalidScope(`scope ${unknown} is not available for ${target}`, unknown);
    const scope = requested.join(' ');
    const token = new provider.AccessToken({ accountId: subject.sub, client: ctx.oidc.client!, gty: 'token_exchange', scope });
    token.resourceServer = {
      audience: target,
      scope: allowed,
      accessTokenFormat: 'jwt',
      accessTokenTTL: options.accessTokenTtl,
      jwt: { sign: { alg: 'RS256' } },
    };
    const jkt = await dpopKeyOf(ctx);
    if (jkt) token.setThumbprint('jkt', jkt);
    const value = await token.save();
    ctx.body = {
      access_token: value,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: token.tokenType,
      expires_in: token.expiration,
      ...(scope ? { scope } : {}),
    };
  }

  provider.registerGrantType(TOKEN_EXCHANGE_GRANT, exchange, [
    'subject_token',
    'subject_token_type',
    'requested_token_type',
    'audience',
    'resource',
    'scope',
  ]);
}
