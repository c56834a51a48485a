/**
 * The http kind's config: what an app owner writes in the target file besides `policy`, checked in
 * full with no I/O (`checkConfig`) and compiled once into the requests and conditions the
 * connector runs. Every problem names its path and the fix. README.md documents the shape.
 */
import type { IntentKind } from "../../src/connector-kit.js";
import { isObject, JsonPathError, parseJsonPath, type JsonPath } from "./json-path.js";
import { member, Problems } from "./problems.js";
import { exchange, outcome, parseErrors, parseHeaders, withAccept } from "./requests.js";
import { collect, INTENTS, NAME, STEP_NAME, type Capture, type CompiledDefinition, type Ctx, type FindSpec, type ProbeSpec, type StepSpec } from "./spec.js";
import { checkUses } from "./template-rules.js";
import { exprsOf, parseTemplateAt } from "./template.js";


/** Checks a config with no I/O: every problem with its path and fix, or the compiled definition. */
export function compileConfig(config: unknown): { problems: string[]; compiled?: CompiledDefinition } {
  const problems = new Problems();
  if (!isObject(config)) return { problems: ["config must be an object with baseUrl and definition"] };
  problems.unknownKeys("config", config, ["baseUrl", "vars", "secrets", "allowInsecureHttp", "definition"]);
  const baseUrl = checkBaseUrl(config, problems);
  const vars = checkValues(config.vars, "vars", problems, (v) => ["string", "number", "boolean"].includes(typeof v), "must be a string, number or boolean");
  const secrets = checkValues(config.secrets, "secrets", problems, (v) => typeof v === "string" && v !== "", "must be a non-empty string") as Record<string, string>;
  const def = config.definition;
  if (!isObject(def)) {
    problems.add("definition", "is required: an object with validate, find, plans and verify (see connectors/http/README.md)");
    return { problems: problems.list };
  }
  problems.unknownKeys("definition", def, ["description", "headers", "errors", "validate", "find", "plans", "verify"]);
  if (def.description !== undefined && typeof def.description !== "string") problems.add("definition.description", "must be text");
  const ctx: Ctx = { problems, uses: [], headers: [], errors: [] };
  ctx.headers = parseHeaders(def.headers, "definition.headers", ctx, "validate");
  ctx.errors = parseErrors(def.errors, "definition.errors", ctx, "validate");

  const validate = section(def, "validate", ctx, (v, at) => {
    const ex = exchange(v, at, ctx, "validate", ["ok"], true);
    const ok = v.ok === undefined ? { status: ["2xx" as const] } : outcome(v.ok, `${at}.ok`, ctx, "validate");
    return ex && ok ? withAccept({ ...ex, ok }, [ok]) : null;
  });
  const find = section(def, "find", ctx, (v, at) => parseFind(v, at, ctx));
  const captured = find?.data.map(([name]) => name) ?? [];
  const plans = parsePlans(def.plans, ctx);
  const verify = parseVerify(def.verify, plans, ctx);
  checkUses(ctx, { vars, secrets, captured });
  if (problems.list.length > 0 || !baseUrl || !validate || !find || !plans.deactivate || !verify.deactivate) return { problems: problems.list };
  return { problems: [], compiled: { baseUrl, vars, secrets, validate, find, plans, verify } };
}

function checkBaseUrl(config: Record<string, unknown>, problems: Problems): string | null {
  const raw = config.baseUrl;
  if (config.allowInsecureHttp !== undefined && typeof config.allowInsecureHttp !== "boolean") problems.add("allowInsecureHttp", "must be true or false");
  if (typeof raw !== "string" || raw === "") {
    problems.add("baseUrl", "is required: the API root, e.g. https://api.example.com/v2");
    return null;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.add("baseUrl", `must be an absolute URL such as https://api.example.com/v2, got ${JSON.stringify(raw)}`);
    return null;
  }
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
  if (url.protocol !== "https:" && url.protocol !== "http:") problems.add("baseUrl", "must be an https:// URL");
  else if (url.protocol === "http:" && !loopback && config.allowInsecureHttp !== true) {
    problems.add("baseUrl", "must be https:// (secrets would cross the network in clear); set allowInsecureHttp: true only for a trusted private network");
  }
  if (url.username || url.password) problems.add("baseUrl", "must not carry credentials; put them in secrets and send them in a header");
  if (url.search || url.hash) problems.add("baseUrl", "must not have a query or fragment; put query parameters in each request's query");
  return url.origin + url.pathname.replace(/\/+$/, "");
}

function checkValues(input: unknown, at: string, problems: Problems, ok: (v: unknown) => boolean, must: string): Record<string, unknown> {
  if (input === undefined) return {};
  if (!isObject(input)) {
    problems.add(at, "must be an object of name: value");
    return {};
  }
  for (const [key, value] of Object.entries(input)) {
    if (!NAME.test(key)) problems.add(member(at, key), "must be named with letters, digits, _ or - (it is used as {{" + at + ".name}})");
    if (!ok(value)) problems.add(member(at, key), must);
  }
  return input;
}

function section<T>(def: Record<string, unknown>, key: string, ctx: Ctx, parse: (value: Record<string, unknown>, at: string) => T | null): T | null {
  const at = `definition.${key}`;
  const value = def[key];
  if (!isObject(value)) {
    ctx.problems.add(at, `is required: an object with a request and its conditions (see connectors/http/README.md "${key}")`);
    return null;
  }
  return parse(value, at);
}

function parseFind(input: Record<string, unknown>, at: string, ctx: Ctx): FindSpec | null {
  const ex = exchange(input, at, ctx, "find", ["found", "absent"], true);
  const found = outcome(input.found, `${at}.found`, ctx, "find");
  const absent = outcome(input.absent, `${at}.absent`, ctx, "find");
  const capture = input.capture;
  if (!isObject(capture)) {
    ctx.problems.add(`${at}.capture`, 'is required: {id: "$.id", data?: {name: "$.path" | "{{subject.…}}"}}');
    return null;
  }
  ctx.problems.unknownKeys(`${at}.capture`, capture, ["id", "data"]);
  const id = jsonPath(capture.id, `${at}.capture.id`, ctx.problems);
  const data: [string, Capture][] = [];
  if (capture.data !== undefined) {
    if (!isObject(capture.data)) ctx.problems.add(`${at}.capture.data`, "must be an object of name: JSON path or template");
    else for (const [name, value] of Object.entries(capture.data)) {
      const valueAt = member(`${at}.capture.data`, name);
      if (!NAME.test(name)) ctx.problems.add(valueAt, "must be named with letters, digits, _ or - (it is used as {{account.data.name}})");
      if (typeof value === "string" && value.startsWith("$")) {
        const path = jsonPath(value, valueAt, ctx.problems);
        if (path) data.push([name, { at: valueAt, path }]);
      } else {
        const template = collect(ctx, "capture", (uses) => parseTemplateAt(value, valueAt, "body", ctx.problems, uses));
        if (template && exprsOf(template).length === 0) ctx.problems.add(valueAt, 'must be a JSON path ("$.…") or a template ("{{subject.…}}")');
        else if (template) data.push([name, { at: valueAt, template }]);
      }
    }
  }
  return ex && found && absent && id ? withAccept({ ...ex, found, absent, id, data }, [found, absent]) : null;
}

function jsonPath(input: unknown, at: string, problems: Problems): JsonPath | null {
  try {
    return parseJsonPath(input as string);
  } catch (error) {
    if (!(error instanceof JsonPathError)) throw error;
    problems.add(at, error.message);
    return null;
  }
}

function parsePlans(input: unknown, ctx: Ctx): Partial<Record<IntentKind, StepSpec[]>> {
  const plans: Partial<Record<IntentKind, StepSpec[]>> = {};
  if (!isObject(input)) {
    ctx.problems.add("definition.plans", "is required: {deactivate: [steps], delete?: [steps], revoke-entitlement?: [steps]}");
    return plans;
  }
  ctx.problems.unknownKeys("definition.plans", input, INTENTS);
  for (const intent of INTENTS) {
    const list = input[intent];
    const at = member("definition.plans", intent);
    if (list === undefined) {
      if (intent === "deactivate") ctx.problems.add(at, "is required: the steps that disable the account");
      continue;
    }
    if (!Array.isArray(list) || list.length === 0) {
      ctx.problems.add(at, "must be a non-empty list of steps");
      continue;
    }
    const steps = list.map((step, i) => parseStep(step, `${at}[${i}]`, ctx, intent)).filter((s): s is StepSpec => s !== null);
    const names = steps.map((s) => s.name);
    names.forEach((name, i) => {
      if (names.indexOf(name) !== i) ctx.problems.add(`${at}[${i}].name`, `repeats ${JSON.stringify(name)}: step names are unique within a plan`);
    });
    plans[intent] = steps;
  }
  return plans;
}

function parseStep(input: unknown, at: string, ctx: Ctx, intent: IntentKind): StepSpec | null {
  if (!isObject(input)) {
    ctx.problems.add(at, "must be a step {name, request, done, alreadyDone?, observable?}");
    return null;
  }
  const used = ctx.uses.length;
  const ex = exchange(input, at, ctx, intent, ["done", "alreadyDone"], false);
  const name = input.name;
  if (typeof name !== "string" || !STEP_NAME.test(name)) ctx.problems.add(`${at}.name`, 'must be a kebab-case verb and noun, e.g. "suspend-user"');
  if (input.observable !== undefined && input.observable !== false) ctx.problems.add(`${at}.observable`, "may only be false (no API can show the step's effect)");
  if (input.done === undefined) ctx.problems.add(`${at}.done`, 'is required: the condition that means the step changed something, e.g. {status: 200}');
  const done = input.done === undefined ? null : outcome(input.done, `${at}.done`, ctx, intent);
  const alreadyDone = input.alreadyDone === undefined ? undefined : outcome(input.alreadyDone, `${at}.alreadyDone`, ctx, intent) ?? undefined;
  if (intent === "revoke-entitlement" && !usesEntitlement(ctx, used)) {
    ctx.problems.add(`${at}.request`, "must use {{intent.entitlement}}: a revoke-entitlement step removes the one entitlement the task is for");
  }
  if (!ex || !done || typeof name !== "string") return null;
  return withAccept({ ...ex, name, observable: input.observable !== false, done, ...(alreadyDone ? { alreadyDone } : {}) }, [done, alreadyDone]);
}

const usesEntitlement = (ctx: Ctx, from: number) =>
  ctx.uses.slice(from).some((u) => exprsOf(u.template).some((e) => e.root === "intent" && e.segments[0] && "key" in e.segments[0] && e.segments[0].key === "entitlement"));

function parseVerify(input: unknown, plans: Partial<Record<IntentKind, StepSpec[]>>, ctx: Ctx): Partial<Record<IntentKind, ProbeSpec[]>> {
  const verify: Partial<Record<IntentKind, ProbeSpec[]>> = {};
  if (!isObject(input)) {
    ctx.problems.add("definition.verify", "is required: {deactivate: probe, delete?: probe, revoke-entitlement?: probe}");
    return verify;
  }
  ctx.problems.unknownKeys("definition.verify", input, INTENTS);
  for (const intent of INTENTS) {
    const at = member("definition.verify", intent);
    const value = input[intent];
    if (value === undefined) {
      if (intent === "deactivate" || plans[intent]) ctx.problems.add(at, `is required: the read that shows the ${intent} plan's effect`);
      continue;
    }
    if (intent !== "deactivate" && !plans[intent]) ctx.problems.add(at, `has no plans.${intent} to verify; add the plan or remove this probe`);
    const list = Array.isArray(value) ? value : [value];
    if (list.length === 0) ctx.problems.add(at, "must be a probe or a non-empty list of probes");
    const used = ctx.uses.length;
    const probes = list.map((probe, i) => parseProbe(probe, Array.isArray(value) ? `${at}[${i}]` : at, ctx, intent)).filter((p): p is ProbeSpec => p !== null);
    if (intent === "revoke-entitlement" && !usesEntitlement(ctx, used)) {
      ctx.problems.add(at, "must use {{intent.entitlement}} (in the request or a condition): it checks the one entitlement the task is for");
    }
    verify[intent] = probes;
  }
  return verify;
}

function parseProbe(input: unknown, at: string, ctx: Ctx, intent: IntentKind): ProbeSpec | null {
  if (!isObject(input)) {
    ctx.problems.add(at, "must be a probe {request, revoked, notRevoked}");
    return null;
  }
  const ex = exchange(input, at, ctx, intent, ["revoked", "notRevoked"], true);
  const revoked = outcome(input.revoked, `${at}.revoked`, ctx, intent);
  const notRevoked = outcome(input.notRevoked, `${at}.notRevoked`, ctx, intent);
  return ex && revoked && notRevoked ? withAccept({ ...ex, revoked, notRevoked }, [revoked, notRevoked]) : null;
}
