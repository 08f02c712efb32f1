import { UmbraError } from "@umbra/protocol";

/** A node of the compiled ignore-path trie. */
export interface PathPatternNode {
  /** A pattern ends here: the node and everything under it is ignored. */
  terminal: boolean;
  /** Exact segment matches. */
  readonly children: Map<string, PathPatternNode>;
  /** The `*` child, matching any one segment. */
  star: PathPatternNode | undefined;
}

function emptyNode(): PathPatternNode {
  return { terminal: false, children: new Map(), star: undefined };
}

/** Splits a JSON-pointer-like path into unescaped segments (`~1` → `/`, `~0` → `~`). */
export function parsePointer(path: string, field: string): string[] {
  if (!path.startsWith("/")) throw UmbraError.invalid(field, "must start with '/'");
  return path
    .slice(1)
    .split("/")
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}

/**
 * Compiles ignore paths into a trie so the diff walk checks every pattern in one step per
 * level instead of matching each pattern against a rebuilt path string.
 */
export function compilePathPatterns(
  paths: readonly string[],
  field: string,
): PathPatternNode | undefined {
  if (paths.length === 0) return undefined;
  const root = emptyNode();
  paths.forEach((path, i) => {
    let node = root;
    for (const segment of parsePointer(path, `${field}/${i}`)) {
      if (segment === "*") {
        node.star ??= emptyNode();
        node = node.star;
      } else {
        let next = node.children.get(segment);
        if (next === undefined) {
          next = emptyNode();
          node.children.set(segment, next);
        }
        node = next;
      }
    }
    node.terminal = true;
  });
  return root;
}

/** Returned by {@link stepPatterns} when the child is ignored. */
export const IGNORED = null;

const NONE: readonly PathPatternNode[] = [];

/**
 * Advances the active trie nodes by one path segment: {@link IGNORED} when a pattern ends on
 * this child, otherwise the nodes still alive below it (often none).
 */
export function stepPatterns(
  active: readonly PathPatternNode[],
  segment: string,
): readonly PathPatternNode[] | typeof IGNORED {
  let next: PathPatternNode[] | undefined;
  for (const node of active) {
    const exact = node.children.get(segment);
    if (exact !== undefined) {
      if (exact.terminal) return IGNORED;
      next ??= [];
      next.push(exact);
    }
    if (node.star !== undefined) {
      if (node.star.terminal) return IGNORED;
      next ??= [];
      next.push(node.star);
    }
  }
  return next ?? NONE;
}
