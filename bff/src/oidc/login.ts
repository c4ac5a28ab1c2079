import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import * as client from 'openid-client';
import type { Deps } from '../deps.js';
import { describeError, unavailable } from '../errors.js';
import { classifyGrantFailure } from './grant-refusal.js';
import { cookieNames } from '../session/cookies.js';
import { LOGIN_TTL_MS, type LoginTransaction } from '../session/login-transactions.js';
import { safeReturnTo } from './return-to.js';
import { readStepUpRequest, stepUpParameters } from './step-up-sign-in.js';
import { redirect } from './redirect.js';

const PROMPTS = new Set(['none', 'login', 'consent', 'select_account']);

export const hashBrowserBinding = (value: string) => createHash('sha256').update(value).digest('base64url');

/**
 * `GET /bff/login`: starts the Authorization Code Flow with PKCE S256, state and nonce.
 * The transaction is keyed by `state`, so several tabs can sign in at once; all of them are bound
 * to this browser by the login cookie (a callback from another browser is refused: login CSRF).
 * With PAR (RFC 9126) the parameters go to the provider server to server, client-authenticated
 * (and with DPoP, bound to the BFF's key), and the browser's URL carries only `client_id` and
 * `request_uri`: nothing in it can be read or changed on the way.
 */
export function login({ config, oidc, loginTransactions, log }: Pick<Deps, 'config' | 'oidc' | 'loginTransactions' | 'log'>) {
  const names = cookieNames(config);
  const redirectUri = new URL('/bff/callback', config.publicUrl).href;
  return async function login(ctx: Context) {
    const authorization = oidc.configuration; // 503 while the provider is unreachable
    const pushed = oidc.pushesAuthorizationRequests;
    if (pushed && !authorization.serverMetadata().pushed_authorization_request_endpoint) {
      // OIDC_PAR=true: never fall back to parameters in the browser's URL.
      throw unavailable('Sign-in is not available right now. Please try again later.');
    }
    const stepUp = readStepUpRequest(ctx.query); // 400 for a bad acr_values or max_age
    const existing = ctx.cookies.get(names.login);
    const binding = existing && /^[A-Za-z0-9_-]{43}$/.test(existing) ? existing : randomBytes(32).toString('base64url');
    // code_verifier, state and nonce MUST be fresh for every redirect.
    const state = client.randomState();
    const transaction: LoginTransaction = {
      browser: hashBrowserBinding(binding),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      returnTo: safeReturnTo(ctx.query.returnTo, config.publicUrl),
      ...(stepUp.acrValues === undefined && stepUp.maxAge === undefined ? {} : { stepUp }),
    };
    await loginTransactions.save(state, transaction);
    const parameters: Record<string, string> = {
      ...Object.fromEntries(config.authParams),
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: config.scopes,
      state,
      nonce: transaction.nonce,
      // S256 (RFC 7636 section 4.2), hashed here: openid-client's helper goes through WebCrypto's
      // thread pool, which costs more than the hash.
      code_challenge: createHash('sha256').update(transaction.codeVerifier).digest('base64url'),
      code_challenge_method: 'S256',
      ...stepUpParameters(stepUp), // pushed with the rest under PAR
    };
    const prompt = ctx.query.prompt;
    if (typeof prompt === 'string' && PROMPTS.has(prompt)) parameters.prompt = prompt;
    ctx.cookies.set(names.login, binding, {
      httpOnly: true,
      secure: config.secureCookies,
      sameSite: 'lax', // must survive the provider's top-level redirect back to us
      path: '/',
      maxAge: LOGIN_TTL_MS,
      overwrite: true,
    });
    const url = pushed
      ? await pushAuthorizationRequest(authorization, parameters)
      : client.buildAuthorizationUrl(authorization, parameters);
    redirect(ctx, url.href);
  };

  /** The pushed request (RFC 9126); a refusal is the deployment's problem, an outage the provider's: both 503 to the browser. */
  async function pushAuthorizationRequest(authorization: client.Configuration, parameters: Record<string, string>): Promise<URL> {
    try {
      return await client.buildAuthorizationUrlWithPAR(authorization, parameters, oidc.dpop);
    } catch (error) {
      if (classifyGrantFailure(error) === 'unavailable') {
        log.warn({ event: 'par_failed', err: describeError(error) }, 'pushed authorization request failed');
      } else {
        log.error(
          { event: 'par_refused', err: describeError(error) },
          'the provider refused the pushed authorization request; check the client registration, OIDC_CLIENT_AUTH and OIDC_AUTH_PARAMS',
        );
      }
      throw unavailable('The sign-in service could not be reached. Please try again in a moment.', error);
    }
  }
}
