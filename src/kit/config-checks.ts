/** Checks a connector's `checkConfig` shares (re-exported by src/connector-kit.ts). No I/O. */

/** Hosts a plain-http URL may name: a test server on this machine. */
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * The problems of an optional URL field, each with its fix: a URL, https (plain http only for a
 * loopback test server), no query string, fragment or credentials. Absent: none.
 */
export function urlProblems(name: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (typeof value !== "string" || value.trim() === "") return [`${name} must be a non-empty URL string`];
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [`${name} ${JSON.stringify(value)} is not a URL`];
  }
  const problems: string[] = [];
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) problems.push(`${name} must use https:// (plain http only for a loopback test server)`);
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") problems.push(`${name} must have no query string, fragment or credentials`);
  return problems;
}
