import { SignJWT, importJWK } from 'jose';
import { CLIENT_ID, type Stack } from './stack.js';

/**
 * A valid back-channel logout token for a provider session (`sid`), or with `{ sub }` for every
 * session of a user, signed with the dev provider's key.
 */
export async function logoutTokenFor(stack: Stack, subject: string | { sub: string }): Promise<string> {
  const key = await importJWK(stack.idp.privateJwk, 'RS256');
  const names = typeof subject === 'string' ? { sid: subject } : subject;
  return new SignJWT({ events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, jti: crypto.randomUUID(), ...names })
    .setProtectedHeader({ alg: 'RS256', kid: stack.idp.privateJwk.kid })
    .setIssuer(stack.idp.issuer)
    .setAudience(CLIENT_ID)
    .setIssuedAt()
    .setExpirationTime('2m')
    .sign(key);
}
