/** Where the CLI reads its environment and writes its output; tests pass their own. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The fetch the collector client uses. Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
}
