/** The codes a {@link CliError} can carry; each maps to one exit code in {@link EXIT_CODES}. */
export const CliErrorCode = {
  /** A flag or argument broke a rule; the message names it. */
  Usage: "usage",
  /** The collector could not be reached. */
  Unavailable: "unavailable",
  /** The collector answered with an error (its code and message are in the text). */
  Server: "server",
  /** The experiment (or what was asked for) does not exist. */
  NotFound: "not_found",
  /** Writing the output failed. */
  Output: "output",
  /** The collector refused a mutating command: no token, a wrong token, or a read-only collector. */
  Denied: "denied",
} as const;

/** One of the {@link CliErrorCode} values. */
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

/** The process exit code of each {@link CliErrorCode}: the only place this mapping lives. */
export const EXIT_CODES: Readonly<Record<CliErrorCode, number>> = {
  usage: 2,
  unavailable: 3,
  server: 4,
  not_found: 5,
  output: 6,
  denied: 7,
};

/** The error type of the `umbra` CLI: a stable `code`, a message for humans, the `cause`. */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string, options?: { readonly cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  /** A usage error naming the flag or argument and the rule: `"<name>: <rule>"`. */
  static usage(name: string, rule: string): CliError {
    return new CliError(CliErrorCode.Usage, `${name}: ${rule}`);
  }
}
