import pino, { type Logger } from 'pino';

/**
 * Paths pino blanks out before anything is written. Tokens, codes, cookies, secrets and
 * Authorization must never reach a log, even when someone logs a whole request or error.
 */
const REDACT_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["x-csrf"]',
  'res.headers["set-cookie"]',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.logout_token',
  '*.code',
  '*.code_verifier',
  '*.client_secret',
  '*.password',
  '*.tokens',
  '*.sealedTokens',
  '*.cookie',
  '*.authorization',
  'access_token',
  'refresh_token',
  'id_token',
  'client_secret',
];

/** Creates the JSON logger (pretty output when `pretty` and pino-pretty is installed). */
export function createLogger(options: { level: string; pretty?: boolean; destination?: pino.DestinationStream }): Logger {
  const config: pino.LoggerOptions = {
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.destination) return pino(config, options.destination);
  if (options.pretty) {
    return pino({ ...config, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } });
  }
  return pino(config);
}

export type { Logger };
