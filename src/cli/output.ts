/**
 * Printing for the CLI: JSON or human text, tables, times and durations. Plain text only: the
 * output is read in terminals, pasted into tickets and grepped, so it carries no colour codes.
 */

/** The admin API's JSON of a type: dates arrive as ISO strings. */
export type Wire<T> = T extends Date
  ? string
  : T extends readonly (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

export const out = (value: unknown, json: boolean, human: () => string) => console.log(json ? JSON.stringify(value, null, 2) : human());

export const table = (rows: Record<string, unknown>[], columns: string[]) =>
  rows.length === 0
    ? "(none)"
    : [columns.join("\t"), ...rows.map((r) => columns.map((c) => (r[c] instanceof Date ? (r[c] as Date).toISOString() : String(r[c] ?? "-"))).join("\t"))].join("\n");

/** Columns to lay text out in: the terminal's (at most 120), else 100. */
export function outputWidth(stream: NodeJS.WriteStream = process.stdout): number {
  const columns = stream.isTTY ? stream.columns : undefined;
  return columns ? Math.max(60, Math.min(columns, 120)) : 100;
}

/** "1h 5m", "4m 59s", "12s", "850ms": the two largest units. */
export function duration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(abs)}ms`;
  const units: [string, number][] = [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]];
  const i = units.findIndex(([, size]) => abs >= size);
  const [unit, size] = units[i]!;
  const first = `${Math.floor(abs / size)}${unit}`;
  const next = units[i + 1];
  const rest = next ? Math.floor((abs % size) / next[1]) : 0;
  return rest > 0 && next ? `${first} ${rest}${next[0]}` : first;
}

/** "in 12s", "3m 2s ago"; "just now" (or "in <1s") within a second. */
export function relative(at: string | Date, now: Date): string {
  const ms = new Date(at).getTime() - now.getTime();
  if (Math.abs(ms) < 1000) return ms > 0 ? "in <1s" : "just now";
  return ms > 0 ? `in ${duration(ms)}` : `${duration(ms)} ago`;
}

/** "2025-06-01 10:00:00Z": UTC, to the second. */
export function timestamp(at: string | Date): string {
  return new Date(at).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** One line, at most `max` characters, ending in "…" when cut. */
export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : flat.slice(0, Math.max(1, max - 1)).trimEnd() + "…";
}

/** Breaks text into lines of at most `width` characters, at spaces where it can. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (let word of text.replace(/\s+/g, " ").trim().split(" ")) {
    while (word.length > width) {
      if (line) { lines.push(line); line = ""; }
      lines.push(word.slice(0, width));
      word = word.slice(width);
    }
    if (!line) line = word;
    else if (line.length + 1 + word.length <= width) line += " " + word;
    else { lines.push(line); line = word; }
  }
  if (line || lines.length === 0) lines.push(line);
  return lines;
}

/** A key/value row; a value longer than `maxLines` lines is cut there, ending in "…". */
export type Field = readonly [key: string, value: string, maxLines?: number];

/** Key/value rows, keys padded to one column, values wrapped under themselves. */
export function fields(rows: readonly Field[], indent: number, width: number): string[] {
  const keyWidth = Math.max(...rows.map(([k]) => k.length)) + 2;
  const valueWidth = Math.max(20, width - indent - keyWidth);
  const pad = " ".repeat(indent);
  return rows.flatMap(([key, value, maxLines]) => {
    let lines = wrap(value, valueWidth);
    if (maxLines !== undefined && lines.length > maxLines) {
      lines = lines.slice(0, maxLines);
      lines[maxLines - 1] = truncate(lines[maxLines - 1]! + " …", valueWidth).replace(/ ?…$/, "…");
    }
    return lines.map((line, i) => `${pad}${(i === 0 ? key : "").padEnd(keyWidth)}${line}`.trimEnd());
  });
}
