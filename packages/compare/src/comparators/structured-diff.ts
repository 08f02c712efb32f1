import { pointerSegment } from "../internal/json-read.ts";
import { IGNORED, type PathPatternNode, stepPatterns } from "../internal/path-pattern.ts";
import { isArrayLike, isRecord, sameLeaf } from "../internal/values.ts";
import type { FieldDiff } from "./comparison-result.ts";

/** Options of {@link diffValues}. */
export interface DiffOptions {
  /** Compiled ignore paths (see `compilePathPatterns`); ignored nodes are neither diffed nor counted. */
  readonly ignore?: PathPatternNode | undefined;
  /** How many differences to keep in `diffs` (all are counted). */
  readonly maxDiffs: number;
  /** Below this depth values are compared as leaves, so cyclic or absurdly deep input stays bounded. */
  readonly maxDepth: number;
}

/** What {@link diffValues} found. */
export interface DiffSummary {
  /** The first `maxDiffs` differences, in walk order. */
  readonly diffs: FieldDiff[];
  /** All differences found. */
  readonly diffCount: number;
  /** Leaves compared (a value missing on one side counts as one leaf). */
  readonly leaves: number;
  /** Leaves that were equal. */
  readonly equalLeaves: number;
}

const NO_PATTERNS: readonly PathPatternNode[] = [];

class DiffWalk {
  readonly diffs: FieldDiff[] = [];
  diffCount = 0;
  leaves = 0;
  equalLeaves = 0;
  readonly #path: (string | number)[] = [];
  readonly #maxDiffs: number;
  readonly #maxDepth: number;

  constructor(maxDiffs: number, maxDepth: number) {
    this.#maxDiffs = maxDiffs;
    this.#maxDepth = maxDepth;
  }

  walk(a: unknown, b: unknown, active: readonly PathPatternNode[]): void {
    if (a === b) {
      this.leaves++;
      this.equalLeaves++;
      return;
    }
    if (this.#path.length < this.#maxDepth) {
      if (isArrayLike(a) && isArrayLike(b)) {
        this.#walkArrays(a, b, active);
        return;
      }
      if (isRecord(a) && isRecord(b)) {
        this.#walkRecords(a, b, active);
        return;
      }
    }
    this.leaves++;
    if (sameLeaf(a, b)) this.equalLeaves++;
    else this.#differ(a, b);
  }

  #walkArrays(a: ArrayLike<unknown>, b: ArrayLike<unknown>, active: readonly PathPatternNode[]) {
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) this.#child(i, a[i], b[i], active);
  }

  #walkRecords(
    a: Record<string, unknown>,
    b: Record<string, unknown>,
    active: readonly PathPatternNode[],
  ) {
    for (const key in a) {
      if (Object.hasOwn(a, key)) this.#child(key, a[key], b[key], active);
    }
    for (const key in b) {
      // Keys holding `undefined` count as absent: msgpack drops them, so one side of a pair
      // would otherwise differ only by how it travelled.
      if (Object.hasOwn(b, key) && a[key] === undefined)
        this.#child(key, undefined, b[key], active);
    }
  }

  #child(key: string | number, a: unknown, b: unknown, active: readonly PathPatternNode[]) {
    let below = active;
    if (active.length > 0) {
      const next = stepPatterns(active, String(key));
      if (next === IGNORED) return;
      below = next;
    }
    if (a === undefined && b === undefined) return;
    this.#path.push(key);
    if (a === undefined || b === undefined) {
      this.leaves++;
      this.#differ(a, b);
    } else {
      this.walk(a, b, below);
    }
    this.#path.pop();
  }

  #differ(production: unknown, shadow: unknown): void {
    this.diffCount++;
    if (this.diffs.length < this.#maxDiffs) {
      let path = "";
      for (const segment of this.#path) path += `/${pointerSegment(segment)}`;
      this.diffs.push({ path, production, shadow });
    }
  }
}

/**
 * Walks two values side by side and lists where they differ: arrays and typed arrays element by
 * element, records key by key (a key holding `undefined` counts as absent), everything else as
 * a leaf compared with `===` except that NaN equals NaN and Dates compare by time.
 */
export function diffValues(
  production: unknown,
  shadow: unknown,
  options: DiffOptions,
): DiffSummary {
  const walk = new DiffWalk(options.maxDiffs, options.maxDepth);
  walk.walk(production, shadow, options.ignore === undefined ? NO_PATTERNS : [options.ignore]);
  return {
    diffs: walk.diffs,
    diffCount: walk.diffCount,
    leaves: walk.leaves,
    equalLeaves: walk.equalLeaves,
  };
}
