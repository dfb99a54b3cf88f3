import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths redacted from every log line, declared once at start-up (never taken from a request).
 * Tokens, credentials and secret values must never reach a log; code should not log them in the
 * first place, this is the net underneath.
 */
export const REDACTED_PATHS = [
  'token',
  'password',
  'secret',
  'authorization',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  'headers["proxy-authorization"]',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  '*.token',
  '*.password',
  '*.secret',
  '*.authorization',
  'config.recording.signingKey',
];

/** Structured JSON logs (pino) on stderr, so stdout stays free for command output. */
export function createLogger(options: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'gatehouse',
      level: options.level ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    (options.destination as pino.DestinationStream | undefined) ?? pino.destination({ fd: 2, sync: false }),
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
