import pino, { type DestinationStream, type Logger } from "pino";

/**
 * Paths pino replaces before a line is written. Code never logs a token or secret on purpose;
 * this is the second line of defence for an object logged whole by mistake.
 */
export const REDACTED_PATHS = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "clientSecret",
  "*.clientSecret",
  "client_secret",
  "*.client_secret",
  "access_token",
  "*.access_token",
  "accessToken",
  "*.accessToken",
  "password",
  "*.password",
];

/** JSON lines to stdout (or the given stream), the format Kubernetes log collectors expect. */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: { service: "genesys-sync" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}
