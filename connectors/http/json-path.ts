/**
 * A small JSON path subset for reading target responses. It is parsed, never evaluated as code:
 *
 *   $                 the whole body (the parsed JSON, the text when it is not JSON, null when empty)
 *   .key              an object member: letters, digits, `_`, `$` and `-`, not starting with a digit
 *   ["key"] ['key']   any object member (dots, colons, spaces); `\"`, `\'` and `\\` escape
 *   [n] [-n]          an array element, counted from the end when negative ([-1] is the last)
 *   .length           on an array or a string: its length (on an object: the member "length")
 *
 * No wildcards, filters or recursive descent: a condition compares one value.
 */

export type PathSegment = { key: string } | { index: number } | { length: true };

export interface JsonPath {
  /** The source text, for messages and evidence. */
  readonly source: string;
  readonly segments: readonly PathSegment[];
}

export class JsonPathError extends Error {}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*/;

/** Parses a path; throws JsonPathError naming the position and what was expected. */
export function parseJsonPath(source: string): JsonPath {
  if (typeof source !== "string" || !source.startsWith("$")) throw new JsonPathError('must start with "$" (e.g. "$.data[0].id")');
  const segments: PathSegment[] = [];
  let at = 1;
  while (at < source.length) {
    const char = source[at];
    if (char === ".") {
      const ident = IDENT.exec(source.slice(at + 1));
      if (!ident) throw new JsonPathError(`expected a member name after "." at position ${at + 1} (use ["…"] for other names)`);
      segments.push(ident[0] === "length" ? { length: true } : { key: ident[0] });
      at += 1 + ident[0].length;
    } else if (char === "[") {
      const rest = source.slice(at + 1);
      const index = /^(-?\d+)\]/.exec(rest);
      if (index) {
        segments.push({ index: Number(index[1]) });
        at += 1 + index[0].length;
        continue;
      }
      const quoted = readQuoted(rest);
      if (!quoted || rest[quoted.length] !== "]") throw new JsonPathError(`expected [n] or ["name"] at position ${at}`);
      segments.push({ key: quoted.value });
      at += 1 + quoted.length + 1;
    } else {
      throw new JsonPathError(`unexpected ${JSON.stringify(char)} at position ${at} (segments are .name, ["name"] or [n])`);
    }
  }
  return { source, segments };
}

/** A quoted string at the start of `text`: its value and how many characters it took, or null. */
export function readQuoted(text: string): { value: string; length: number } | null {
  const quote = text[0];
  if (quote !== '"' && quote !== "'") return null;
  let value = "";
  for (let i = 1; i < text.length; i++) {
    const char = text[i]!;
    if (char === "\\") {
      const next = text[i + 1];
      if (next !== quote && next !== "\\") return null;
      value += next;
      i++;
    } else if (char === quote) {
      return { value, length: i + 1 };
    } else {
      value += char;
    }
  }
  return null;
}

export type Lookup = { found: true; value: unknown } | { found: false };

/** Reads the path in `root`; `found: false` when any step is missing or of the wrong type. */
export function lookup(path: JsonPath, root: unknown): Lookup {
  let value: unknown = root;
  for (const segment of path.segments) {
    if ("length" in segment) {
      if (Array.isArray(value) || typeof value === "string") value = value.length;
      else if (isObject(value) && Object.hasOwn(value, "length")) value = value.length;
      else return { found: false };
    } else if ("index" in segment) {
      if (!Array.isArray(value)) return { found: false };
      const at = segment.index < 0 ? value.length + segment.index : segment.index;
      if (at < 0 || at >= value.length) return { found: false };
      value = value[at];
    } else {
      if (!isObject(value) || !Object.hasOwn(value, segment.key)) return { found: false };
      value = value[segment.key];
    }
  }
  return { found: true, value };
}

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
