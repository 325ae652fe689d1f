/**
 * The base of every error this service raises on purpose: a stable `code` for logs, metrics and
 * tests, whether trying again can help (`retryable`), and the `cause` kept (the undici
 * `lib/core/errors.js` habit). Messages never carry a token, a secret or an Authorization header.
 */
export class ServiceError extends Error {
  readonly code: string;
  /** True when the same call may succeed later without anyone changing anything. */
  readonly retryable: boolean;
  constructor(code: string, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** Configuration that cannot work: unknown region, plain http to a remote host, bad numbers. */
export class ConfigurationError extends ServiceError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(
      "CONFIG_INVALID",
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n- ${problems.join("\n- ")}`,
    );
    this.problems = problems;
  }
}
