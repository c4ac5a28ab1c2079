import { z } from 'zod';

/**
 * The Shared Signals part of the configuration (docs/shared-signals.md): the transmitter whose
 * Security Event Tokens `POST /bff/ssf` accepts, the secret it must present, the audience its
 * tokens must name, and whether the BFF registers its stream itself. All or nothing: `SSF_ISSUER`
 * turns the endpoint on and needs `SSF_PUSH_TOKEN`; the others mean nothing without it.
 */

export const SSF_STREAM_MODES = ['auto', 'off'] as const;

/** The variables, as plain strings (checked together by {@link ssfProblems}). */
export const SSF_ENV = {
  SSF_ISSUER: z.string().optional(),
  SSF_PUSH_TOKEN: z.string().optional(),
  SSF_AUDIENCE: z.string().optional(),
  SSF_STREAM: z.enum(SSF_STREAM_MODES, { error: 'SSF_STREAM must be auto or off' }).optional(),
};

interface SsfEnv {
  NODE_ENV: string;
  PUBLIC_URL?: string;
  SSF_ISSUER?: string;
  SSF_PUSH_TOKEN?: string;
  SSF_AUDIENCE?: string;
  SSF_STREAM?: (typeof SSF_STREAM_MODES)[number];
}

/** The settings; undefined when `SSF_ISSUER` is unset (no `/bff/ssf` route at all). */
export interface SsfSettings {
  /** The transmitter's issuer, exactly as its configuration and its SETs must state it. */
  issuer: string;
  /** The secret the transmitter sends as `Authorization: Bearer` (RFC 8935 §2.1). */
  pushToken: string;
  /** What every SET's `aud` must contain. */
  audience: string;
  /** `auto`: register the push stream at start when the transmitter offers a configuration endpoint. */
  stream: (typeof SSF_STREAM_MODES)[number];
}

/** Loopback hosts: the only ones a production BFF may reach over plain http. */
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/** One line per problem, each naming its variable. */
export function ssfProblems(env: SsfEnv): string[] {
  const set = (value: string | undefined) => value !== undefined && value !== '';
  if (!set(env.SSF_ISSUER)) {
    const orphans = (['SSF_PUSH_TOKEN', 'SSF_AUDIENCE', 'SSF_STREAM'] as const).filter((name) => set(env[name]));
    return orphans.map((name) => `${name} is set without SSF_ISSUER (set both, or neither)`);
  }
  const problems: string[] = [];
  const issuer = env.SSF_ISSUER!;
  if (!URL.canParse(issuer) || !/^https?:$/.test(new URL(issuer).protocol)) problems.push('SSF_ISSUER must be an http(s) URL');
  else if (env.NODE_ENV === 'production' && new URL(issuer).protocol === 'http:' && !LOOPBACK.test(new URL(issuer).hostname))
    problems.push('SSF_ISSUER must be https in production unless its host is a loopback address');
  if (!set(env.SSF_PUSH_TOKEN)) problems.push('SSF_PUSH_TOKEN is required with SSF_ISSUER (the transmitter sends it as a bearer token)');
  else if (Buffer.byteLength(env.SSF_PUSH_TOKEN!) < 32) problems.push('SSF_PUSH_TOKEN must be at least 32 bytes');
  else if (!/^[\x21-\x7e]+$/.test(env.SSF_PUSH_TOKEN!)) problems.push('SSF_PUSH_TOKEN must be visible ASCII without spaces');
  if (env.SSF_AUDIENCE !== undefined && env.SSF_AUDIENCE.trim() === '') problems.push('SSF_AUDIENCE must not be empty');
  return problems;
}

/** The settings from a valid environment; `publicUrl` gives the default audience (its origin). */
export function ssfSettings(env: SsfEnv, publicUrl: URL): SsfSettings | undefined {
  if (!env.SSF_ISSUER) return undefined;
  return {
    issuer: env.SSF_ISSUER,
    pushToken: env.SSF_PUSH_TOKEN!,
    audience: env.SSF_AUDIENCE || publicUrl.origin,
    stream: env.SSF_STREAM ?? 'off',
  };
}
