/**
 * Comparison stack 2 (bench/comparison/stacks.ts): Fastify with @fastify/cookie and
 * @fastify/session (sessions in Redis through connect-redis on ioredis), and the sign-in
 * hand-written on openid-client's functional API, the way its README shows it: PKCE (S256),
 * state and nonce kept in the session between login and callback, client_secret_basic, and a
 * new session id once signed in (against fixation). The session keeps the token set as plain JSON.
 * Library defaults otherwise (a session saved even before anything is in it, rolling), except
 * that cookies are not `Secure` here because the bench speaks plain HTTP on loopback.
 */
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import { RedisStore } from 'connect-redis';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import * as client from 'openid-client';
import { comparisonSettings, SCOPES } from './stacks.js';

declare module 'fastify' {
  interface Session {
    /** Between login and callback: what the callback checks the provider's answer against. */
    login?: { codeVerifier: string; state: string; nonce: string };
    user?: { sub: string; name?: string };
    tokens?: { access_token: string; refresh_token?: string; id_token?: string; expires_at?: number };
  }
}

const settings = comparisonSettings(process.env);
const baseUrl = `http://127.0.0.1:${settings.port}`;
const redirectUri = `${baseUrl}/callback`;
const redis = new Redis(settings.redisUrl);
const config = await client.discovery(
  new URL(settings.issuer),
  settings.clientId,
  undefined,
  client.ClientSecretBasic(settings.clientSecret),
  // The dev provider is plain HTTP on loopback; a real one is not.
  { execute: [client.allowInsecureRequests] },
);

const app = Fastify();
await app.register(fastifyCookie);
await app.register(fastifySession, {
  secret: settings.cookieSecret,
  cookie: { secure: 'auto', sameSite: 'lax', maxAge: 24 * 3600 * 1000 },
  store: new RedisStore({ client: redis, prefix: 'fastify-sess:' }),
});

app.get('/login', async (request, reply) => {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  request.session.set('login', { codeVerifier, state, nonce });
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: SCOPES,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return reply.redirect(url.href);
});

app.get('/callback', async (request, reply) => {
  const login = request.session.get('login');
  if (!login) return reply.code(400).send({ error: 'no sign-in in progress' });
  const tokens = await client.authorizationCodeGrant(config, new URL(request.url, baseUrl), {
    pkceCodeVerifier: login.codeVerifier,
    expectedState: login.state,
    expectedNonce: login.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims()!;
  await request.session.regenerate();
  request.session.set('user', { sub: claims.sub, name: typeof claims.name === 'string' ? claims.name : undefined });
  request.session.set('tokens', {
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    id_token: tokens.id_token,
    expires_at: tokens.expires_in === undefined ? undefined : Math.floor(Date.now() / 1000) + tokens.expires_in,
  });
  return reply.redirect('/');
});

app.get('/me', async (request, reply) => {
  const user = request.session.get('user');
  if (!user) return reply.code(401).send({ error: 'not signed in' });
  return { sub: user.sub };
});

const address = await app.listen({ port: settings.port, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port) })}\n`);
process.on('SIGTERM', () => {
  redis.disconnect();
  process.exit(0);
});
