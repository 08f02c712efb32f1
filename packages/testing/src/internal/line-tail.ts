/**
 * The last `maxLines` lines of a child's output, for error messages. Bounded: older lines are
 * dropped and counted in `droppedLines`.
 */
export class LineTail {
  readonly #maxLines: number;
  readonly #lines: string[] = [];
  #partial = "";
  #dropped = 0;

  constructor(maxLines: number) {
    this.#maxLines = maxLines;
  }

  /** How many lines were dropped to keep the bound. */
  get droppedLines(): number {
    return this.#dropped;
  }

  /** Appends a chunk of output (which may hold partial lines). */
  push(chunk: string): void {
    const parts = (this.#partial + chunk).split("\n");
    this.#partial = parts.pop() ?? "";
    for (const line of parts) {
      this.#lines.push(line);
      if (this.#lines.length > this.#maxLines) {
        this.#lines.shift();
        this.#dropped += 1;
      }
    }
  }

  /** The kept lines (and any unterminated last line) joined by newlines. */
  text(): string {
    const all = this.#partial === "" ? this.#lines : [...this.#lines, this.#partial];
    return all.join("\n");
  }
}
