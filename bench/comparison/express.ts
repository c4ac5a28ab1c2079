/**
 * Comparison stack 1 (bench/comparison/stacks.ts): Express with express-openid-connect, sessions
 * in Redis through connect-redis on ioredis. Written as its README suggests, with the settings a
 * team would change for a server-side session and the code flow:
 * - `authorizationParams.response_type: 'code'`: the library's default is the implicit
 *   `id_token` with form_post; with `code` it adds PKCE (S256) to its state and nonce, and
 *   authenticates with client_secret_basic (its default for a code client with a secret).
 * - `session.store`: the library's default keeps the session in an encrypted cookie; with a store
 *   the cookie holds the session id (unsigned, the library's default) and Redis holds the session,
 *   tokens included, as plain JSON.
 * - `authRequired: false`: only `/me` asks for a session (the default would guard every route).
 * Everything else is the library's default (rolling 1-day session, Lax cookies, the login
 * transaction in a signed cookie, a new session id at sign-in). Cookies are not `Secure` here
 * because the bench speaks plain HTTP on loopback.
 */
import { RedisStore } from 'connect-redis';
import express from 'express';
// A CommonJS module whose named exports Node's ESM loader cannot see: imported whole.
import openidConnect from 'express-openid-connect';
import { Redis } from 'ioredis';
import { comparisonSettings, SCOPES } from './stacks.js';

const { auth, requiresAuth } = openidConnect;
const settings = comparisonSettings(process.env);
const baseURL = `http://127.0.0.1:${settings.port}`;
const redis = new Redis(settings.redisUrl);

const app = express();
app.use(
  auth({
    issuerBaseURL: settings.issuer,
    baseURL,
    clientID: settings.clientId,
    clientSecret: settings.clientSecret,
    secret: settings.cookieSecret,
    authRequired: false,
    authorizationParams: { response_type: 'code', scope: SCOPES },
    session: { store: new RedisStore({ client: redis, prefix: 'express-sess:' }) },
  }),
);
app.get('/me', requiresAuth(), (req, res) => {
  res.json({ sub: req.oidc.user!.sub });
});

const server = app.listen(settings.port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  redis.disconnect();
  process.exit(0);
});
