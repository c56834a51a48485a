/**
 * Search filters from templates: every value that comes from a subject or an entitlement is
 * escaped per RFC 4515 §3, so a userName such as `*` or `a)(uid=*` matches itself only.
 */
import { TargetError, type Subject } from "../../src/connector-kit.js";

/** What a userFilter may use. */
export const PLACEHOLDERS = ["userName", "localPart", "email", "externalId", "employeeNumber"] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/**
 * RFC 4515 §3 escaping of an assertion value: `\`, `*`, `(`, `)` and NUL become `\5c`, `\2a`,
 * `\28`, `\29`, `\00`. Other characters, UTF-8 included, go as they are.
 */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** `(attribute=value)` with the value escaped. */
export const equalityFilter = (attribute: string, value: string): string => `(${attribute}=${escapeFilterValue(value)})`;

/** The template with each `{{placeholder}}` replaced by its escaped value. */
export function renderFilter(template: string, valueOf: (placeholder: Placeholder) => string): string {
  return template.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_, name: string) => escapeFilterValue(valueOf(name as Placeholder)));
}

/** A placeholder's value for a subject, or undefined when the subject has none. */
export function placeholderValue(subject: Subject, placeholder: Placeholder): string | undefined {
  const nonEmpty = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v : typeof v === "number" ? String(v) : undefined);
  switch (placeholder) {
    case "userName": return nonEmpty(subject.userName);
    case "localPart": return nonEmpty(subject.userName.includes("@") ? subject.userName.slice(0, subject.userName.lastIndexOf("@")) : subject.userName);
    case "email": return nonEmpty(subject.emails[0]);
    case "externalId": return nonEmpty(subject.externalId);
    case "employeeNumber": return nonEmpty(subject.enterprise?.employeeNumber);
  }
}

/**
 * The userFilter for a subject. A placeholder the subject has no value for is a permanent
 * failure, not "no account": nothing was observed, so nothing may be concluded.
 */
export function userFilterFor(template: string, subject: Subject): string {
  return renderFilter(template, (placeholder) => {
    const value = placeholderValue(subject, placeholder);
    if (value === undefined) {
      throw new TargetError("permanent", `config.userFilter uses {{${placeholder}}} but subject ${subject.id} has no ${placeholder}; use a placeholder every person has, such as {{userName}}`);
    }
    return value;
  });
}
