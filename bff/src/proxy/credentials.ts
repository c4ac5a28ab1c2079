import { type ApiRoute, usesClientToken } from '../api-routes.js';
import type { Deps } from '../deps.js';
import { SESSION_END_REASONS } from '../../../shared/src/index.js';
import { unauthenticated } from '../errors.js';
import { cookieNames, readCookie } from '../session/cookies.js';
import { refreshDue } from '../oidc/token-timing.js';
import type { HotSession } from '../session/session-cache.js';
import { SessionStore } from '../session/sessions.js';
import { VaultError } from '../session/vault.js';
import type { TimedAccessToken } from '../tokens.js';

/** The signed-in user behind a call. */
export interface SignedInUser {
  id: string;
  session: HotSession;
}

/**
 * What a proxied call carries, as its route's policy says (docs/route-policies.md): the
 * session named by the cookie and the route's token. Shared by HTTP calls and WebSocket
 * handshakes, so both follow one set of rules.
 */
/** What the credentials step uses of the dependencies. */
export type CredentialsDeps = Pick<Deps, 'config' | 'sessions' | 'hotSessions' | 'sessionTokens' | 'clientTokens' | 'identityAssertions'>;

export function createCredentials(deps: CredentialsDeps) {
  const { sessions, hotSessions, sessionTokens, clientTokens, identityAssertions } = deps;
  const sessionCookie = cookieNames(deps.config).session;

  /** The well-formed session id the cookie names (not yet looked up: it may name nothing). */
  function sessionIdOf(cookieHeader: string | undefined): string | undefined {
    const id = readCookie(cookieHeader, sessionCookie);
    return SessionStore.isId(id) ? id : undefined;
  }

  /**
   * The session with this id (see sessionIdOf): from this instance's cache, or one Redis round
   * trip that also slides the idle timeout. Without one: 401 when `required` (with why: a read
   * made only then), otherwise undefined.
   */
  async function session(id: string | undefined, required: boolean): Promise<SignedInUser | undefined> {
    if (id === undefined) {
      if (required) throw unauthenticated(SESSION_END_REASONS.noSession);
      return undefined;
    }
    let session: HotSession | null;
    try {
      session = hotSessions.cached(id) ?? (await hotSessions.load(id));
    } catch (error) {
      if (!(error instanceof VaultError)) throw error;
      // Tokens sealed under a retired key can never be used again: end the session.
      await sessions.destroy(id, undefined, SESSION_END_REASONS.refreshRefused).catch(() => undefined);
      throw unauthenticated(SESSION_END_REASONS.refreshRefused);
    }
    if (!session) {
      if (required) throw unauthenticated(await sessions.whyEnded(id));
      return undefined;
    }
    return { id, session };
  }

  /**
   * The route's access token: the user's (sign-in, the route's own, exchanged, or the BFF's
   * identity assertion for it) when there is a session,
   * else the BFF's client token when the policy says so, else none. The token (with its type:
   * Bearer or DPoP-bound, and its timing) when at hand (no I/O: the hot path), a promise when a
   * grant must come first.
   */
  function token(route: ApiRoute, user: SignedInUser | undefined): TimedAccessToken | Promise<TimedAccessToken> | undefined {
    if (user) {
      if (route.assertion) return identityAssertions!.token(user.id, route);
      const held = user.session.tokens[route.target?.id ?? ''];
      return held && !refreshDue(held) ? held : sessionTokens.obtain(user.id, route.target);
    }
    return usesClientToken(route) ? clientTokens.token(route.target) : undefined;
  }

  /**
   * A new token of the same kind after the upstream refused `rejected`. Only for a token older
   * than the refusal cool-down (the relay checks `renewable` before it holds a refusal back).
   */
  function renew(route: ApiRoute, user: SignedInUser | undefined, rejected: string): Promise<TimedAccessToken> {
    if (user && route.assertion) return Promise.resolve(identityAssertions!.token(user.id, route, rejected));
    if (user) return sessionTokens.obtain(user.id, route.target, rejected);
    return Promise.resolve(clientTokens.token(route.target, rejected));
  }

  return { sessionIdOf, session, token, renew };
}

export type Credentials = ReturnType<typeof createCredentials>;
