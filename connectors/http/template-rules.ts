/**
 * Which template roots and names a definition may use where: the subject only in find, the account
 * only after it, the entitlement only for revoke-entitlement, defined vars and secrets, and secrets
 * never where they could surface (paths, conditions, captured data).
 */
import { exprsOf } from "./template.js";
import { SUBJECT_FIELDS, type Ctx } from "./spec.js";

/** Which roots and names each template may use where it is. */
export function checkUses(ctx: Ctx, known: { vars: Record<string, unknown>; secrets: Record<string, unknown>; captured: string[] }): void {
  for (const use of ctx.uses) {
    for (const expr of exprsOf(use.template)) {
      const first = expr.segments[0];
      const key = first === undefined ? undefined : "key" in first ? first.key : String(first.index);
      const second = expr.segments[1];
      const say = (message: string) => ctx.problems.add(use.at, `uses {{${expr.source}}}, which ${message}`);
      switch (expr.root) {
        case "subject":
          if (use.section !== "find" && use.section !== "capture") say('is only known in find; capture it there (find.capture.data: {name: "{{subject.…}}"}) and use {{account.data.name}}');
          else if (key === undefined || !SUBJECT_FIELDS.includes(key)) say(`is not a subject field; use one of ${SUBJECT_FIELDS.join(", ")}`);
          break;
        case "account":
          if (use.section === "validate" || use.section === "find" || use.section === "capture") say("is not known yet: the account is what find captures");
          else if (key !== "id" && key !== "data") say("is not an account field; use account.id or account.data.<captured name>");
          else if (key === "data" && !(second && "key" in second && known.captured.includes(second.key))) say(`is not captured by find.capture.data (captured: ${known.captured.join(", ") || "none"})`);
          break;
        case "intent":
          if (use.section === "validate") say("is not known in validate");
          else if (key === "entitlement" && use.section !== "revoke-entitlement") say("only has a value for revoke-entitlement");
          else if (key !== "kind" && key !== "entitlement") say("is not an intent field; use intent.kind or intent.entitlement");
          break;
        case "vars":
        case "secrets":
          if (key === undefined || !Object.hasOwn(known[expr.root], key)) say(`is not defined under ${expr.root} in the config`);
          else if (expr.root === "secrets" && (use.where === "path" || use.where === "condition" || use.section === "capture")) {
            say(`puts a secret where it could show in errors, evidence or stored data; send it in a header${use.where === "path" ? " (or the query)" : ""}`);
          }
          break;
        case "now":
          break;
      }
    }
  }
}
