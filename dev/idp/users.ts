import { createHash, timingSafeEqual } from 'node:crypto';
import type { Account } from 'oidc-provider';

/** A sign-in account of the dev provider. */
export interface DemoUser {
  username: string;
  password: string;
  sub: string;
  name: string;
  email: string;
}

/**
 * The two accounts of the dev provider. The passwords are public on purpose: this provider only
 * exists for local development and tests. `sub` differs from `username` so that code which
 * mixes the two up shows it.
 */
export const DEMO_USERS: ReadonlyArray<DemoUser> = Object.freeze([
  Object.freeze({ username: 'alice', password: 'alice-password-1', sub: 'user-1001', name: 'Alice Example', email: 'alice@example.com' }),
  Object.freeze({ username: 'bob', password: 'bob-password-1', sub: 'user-1002', name: 'Bob Example', email: 'bob@example.com' }),
]);

// Hashing first gives equal-length inputs, so the comparison time says nothing about the password.
const digest = (value: string) => createHash('sha256').update(value).digest();

/** The user with these credentials, or undefined. Usernames are case-insensitive. */
export function checkCredentials(username: string, password: string): DemoUser | undefined {
  const user = DEMO_USERS.find((candidate) => candidate.username === username.trim().toLowerCase());
  // Compare even for an unknown user, so both failures take about the same time.
  const matches = timingSafeEqual(digest(user?.password ?? ''), digest(password));
  return user && matches ? user : undefined;
}

/** The user with this `sub`, or undefined. */
export function userBySub(sub: string): DemoUser | undefined {
  return DEMO_USERS.find((user) => user.sub === sub);
}

/**
 * The provider's `findAccount`: claims per scope are filtered by the provider afterwards, so this
 * returns every claim the account has.
 */
export async function findAccount(_ctx: unknown, sub: string): Promise<Account | undefined> {
  const user = userBySub(sub);
  if (!user) return undefined;
  return {
    accountId: user.sub,
    claims: () => ({
      sub: user.sub,
      name: user.name,
      preferred_username: user.username,
      email: user.email,
      email_verified: true,
    }),
  };
}
