/** What an error code means and what the operator does about it (rendered into docs/troubleshooting.md). */
export interface ErrorCodeDoc {
  readonly meaning: string;
  readonly action: string;
}

/** The codes of errors that belong to no one module; each module keeps its own list beside its classes. */
export const SHARED_ERROR_CODES = {
  CONFIG_INVALID: {
    meaning:
      "The settings cannot work (a bad number, an unknown region, plain http to a remote host, a data dir that is a file...): the process exits with code 78 and lists every problem at once.",
    action:
      "Fix each setting the log names (the chart value or environment variable and its fix), then start again; docs/configuration.md lists every setting.",
  },
  SERVICE_STOPPED: {
    meaning:
      "Code asked a service that was already shut down to start again (a programming error, not an operator's).",
    action:
      "Build a new service (buildService) instead of restarting a stopped one; report it if you see it in a log.",
  },
} as const satisfies Record<string, ErrorCodeDoc>;

export type SharedErrorCode = keyof typeof SHARED_ERROR_CODES;

/**
 * The base of every error this service raises on purpose: a stable `code` for logs, metrics and
 * tests, whether trying again can help (`retryable`), and the `cause` kept (the undici
 * `lib/core/errors.js` habit). Messages never carry a token, a secret or an Authorization header.
 */
export class ServiceError<Code extends string = string> extends Error {
  readonly code: Code;
  /** True when the same call may succeed later without anyone changing anything. */
  readonly retryable: boolean;
  constructor(code: Code, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** Configuration that cannot work: unknown region, plain http to a remote host, bad numbers. */
export class ConfigurationError extends ServiceError<SharedErrorCode> {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(
      "CONFIG_INVALID",
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n- ${problems.join("\n- ")}`,
    );
    this.problems = problems;
  }
}
