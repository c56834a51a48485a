/** Storage outcomes the SCIM layer turns into RFC 7644 §3.12 errors. */
export class UniquenessError extends Error {
  constructor(readonly attribute: string) {
    super(`${attribute} is already in use`);
    this.name = "UniquenessError";
  }
}

/** `If-Match` named a version that is no longer current (→ 412). */
export class PreconditionFailedError extends Error {
  constructor(readonly current: number) {
    super("the resource has changed since the version given in If-Match");
    this.name = "PreconditionFailedError";
  }
}

/** The row changed between a PATCH's read and its write; the PATCH is re-applied. */
export class ConcurrentWriteError extends Error {
  constructor() {
    super("the resource changed while a PATCH was being applied");
    this.name = "ConcurrentWriteError";
  }
}

export const weakEtag = (version: number): string => `W/"${version}"`;

/** Accepts `W/"3"`, `"3"`, a list, or `*`; true when `version` satisfies the header. */
export function etagMatches(header: string, version: number): boolean {
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t.replace(/^W\//, "") === `"${version}"`;
  });
}
