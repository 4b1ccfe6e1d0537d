import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Credentials are redacted wherever they could appear, so a debug
 * log of a request or a config object never prints a secret. Lines go to stdout unless a
 * `destination` is given (tests read what a process logs).
 */
export function createLogger(
  name: string,
  level: string = 'info',
  destination?: DestinationStream,
): Logger {
  const options = {
    name,
    level,
    base: { proc: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        '*.password',
        '*.secret',
        '*.token',
        '*.jwt_secret',
        '*.api_key',
        'api_key',
        'password',
        'secret',
        'token',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
