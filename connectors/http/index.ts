/**
 * The `http` connector kind: a target's config carries a declarative definition (README.md) —
 * templated requests and the response conditions that mean found / absent / done / already-done /
 * revoked / not-revoked — so a plain HTTP API needs no code. It imports only the connector kit.
 *
 * Plans: each target brings its own steps, so the kind answers `plansFor(config, intent)` with
 * the definition's steps one by one: the engine checkpoints each, records its outcome and marks
 * `observable: false` ones acknowledged. `plans` (one step per intent running the whole plan,
 * `run-deactivate-plan`, …) is only the fallback for callers that know no config.
 */
import { TargetError, type Account, type Connector, type IntentKind, type Probe, type RevokeStep, type Subject, type TargetContext } from "../../src/connector-kit.js";
import { compileConfig } from "./definition.js";
import type { CompiledDefinition, HttpConfig, ProbeSpec, StepSpec } from "./spec.js";
import { evidenceOf, judge, send, type Answer } from "./exchange.js";
import { lookup } from "./json-path.js";
import { renderValue, TemplateError, type TemplateScope } from "./template.js";

export type { HttpConfig } from "./spec.js";

type Ctx = TargetContext<HttpConfig>;

const compiledByConfig = new WeakMap<object, CompiledDefinition>();

/** The config's compiled definition, or TargetError permanent listing what is wrong. */
export function definitionOf(config: HttpConfig): CompiledDefinition {
  const cached = typeof config === "object" && config !== null ? compiledByConfig.get(config) : undefined;
  if (cached) return cached;
  const { problems, compiled } = compileConfig(config);
  if (!compiled) {
    const more = problems.length > 3 ? `; and ${problems.length - 3} more (run the target's config check)` : "";
    throw new TargetError("permanent", `the http definition is invalid: ${problems.slice(0, 3).join("; ")}${more}`);
  }
  compiledByConfig.set(config, compiled);
  return compiled;
}

function scopeOf(def: CompiledDefinition, ctx: Ctx, extra: Partial<TemplateScope> = {}): TemplateScope {
  return { vars: def.vars, secrets: def.secrets, intent: ctx.intent, now: ctx.now().toISOString(), ...extra };
}

const accountScope = (account: Account) => ({ id: account.id, data: account.data ?? {} });

function stepOf(spec: StepSpec): RevokeStep<HttpConfig> {
  return {
    name: spec.name,
    ...(spec.observable ? {} : { observable: false as const }),
    async run(account, ctx) {
      const def = definitionOf(ctx.config);
      const scope = scopeOf(def, ctx, { account: accountScope(account) });
      const answer = await send(spec, def, scope, ctx);
      const [first] = judge(answer, spec, [["alreadyDone", spec.alreadyDone], ["done", spec.done]], def, scope, ctx);
      return first!.name === "alreadyDone" ? "already-done" : "done";
    },
  };
}

/** The definition's steps for an intent (delete without its own plan runs the deactivate steps). */
export function definitionSteps(config: HttpConfig, intent: IntentKind): RevokeStep<HttpConfig>[] {
  const def = definitionOf(config);
  const specs = def.plans[intent] ?? (intent === "delete" ? def.plans.deactivate : undefined);
  if (!specs) throw new TargetError("permanent", `the http definition has no plans.${intent}; add one, or map no entitlements in the target's policy`);
  return specs.map(stepOf);
}

/** One engine step running the definition's plan for `intent`: done when any of its steps changed something. */
function planStep(intent: IntentKind): RevokeStep<HttpConfig> {
  return {
    name: `run-${intent}-plan`,
    async run(account, ctx) {
      let changed = false;
      for (const step of definitionSteps(ctx.config, intent)) {
        const outcome = await step.run(account, ctx);
        ctx.log.info(`Definition step ${step.name} ${outcome}${step.observable === false ? " (not observable, acknowledged)" : ""} for account ${account.id}`);
        changed ||= outcome === "done";
      }
      return changed ? "done" : "already-done";
    },
  };
}

/** Exactly one of two outcomes, or TargetError permanent when the answer matches both. */
function oneOf<N extends string>(answer: Answer, verdicts: { name: N; observed: string[] }[], requestAt: string) {
  const at = requestAt.replace(/\.request$/, "");
  if (verdicts.length > 1) {
    throw new TargetError("permanent", `${answer.what} answered ${answer.status}, which matches both ${verdicts.map((v) => v.name).join(" and ")} (${at}); make the conditions exclusive`);
  }
  return verdicts[0]!;
}

async function probe(spec: ProbeSpec, account: Account, ctx: Ctx): Promise<Probe> {
  const def = definitionOf(ctx.config);
  const scope = scopeOf(def, ctx, { account: accountScope(account) });
  const answer = await send(spec, def, scope, ctx);
  const verdict = oneOf(answer, judge(answer, spec, [["revoked", spec.revoked], ["notRevoked", spec.notRevoked]], def, scope, ctx), spec.request.at);
  return { revoked: verdict.name === "revoked", evidence: evidenceOf(answer, verdict.observed, def) };
}

/** A captured value as an account id: a non-empty string, or a number. */
function idOf(value: unknown): string | null {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return null;
}

export default {
  id: "http",
  configFields: [
    { name: "baseUrl", description: "The API root every request path is relative to, e.g. https://api.example.com/v2 (https unless loopback or allowInsecureHttp)", required: true },
    { name: "definition", description: "The declarative definition: validate, find, plans and verify, with their requests and conditions (connectors/http/README.md)", required: true, type: "object" },
    { name: "vars", description: "Plain values the definition reads as {{vars.<name>}} (an org id, a directory id)", type: "object" },
    { name: "secrets", description: "Secret values the definition reads as {{secrets.<name>}} in headers, query or body (API tokens); never shown back or put in evidence", secret: true, type: "object" },
    { name: "allowInsecureHttp", description: "Allows http:// to a non-loopback host, for a trusted private network only (Default: false)", type: "boolean" },
  ],

  checkConfig: (config) => compileConfig(config).problems,

  plansFor: (config, intent) => definitionSteps(config, intent),

  async validate(ctx) {
    const def = definitionOf(ctx.config);
    const scope = scopeOf(def, ctx);
    const answer = await send(def.validate, def, scope, ctx);
    judge(answer, def.validate, [["ok", def.validate.ok]], def, scope, ctx);
  },

  async findAccount(subject: Subject, ctx) {
    const def = definitionOf(ctx.config);
    const find = def.find;
    const scope = scopeOf(def, ctx, { subject });
    const answer = await send(find, def, scope, ctx);
    const verdict = oneOf(answer, judge(answer, find, [["found", find.found], ["absent", find.absent]], def, scope, ctx), find.request.at);
    if (verdict.name === "absent") return null;
    const shape = (what: string) =>
      new TargetError("permanent", `${answer.what} answered ${answer.status} matching found, but ${what} is missing from the answer; fix definition.find.capture`);
    const idValue = lookup(find.id, answer.body);
    const id = idValue.found ? idOf(idValue.value) : null;
    if (id === null) throw shape(`capture.id (${find.id.source}, a non-empty string or a number)`);
    const data: Record<string, unknown> = {};
    for (const [name, capture] of find.data) {
      if (capture.path) {
        const value = lookup(capture.path, answer.body);
        if (!value.found) throw shape(`capture.data.${name} (${capture.path.source})`);
        data[name] = value.value;
      } else {
        try {
          data[name] = renderValue(capture.template!, scope);
        } catch (error) {
          if (error instanceof TemplateError) throw new TargetError("permanent", `${capture.at}: ${error.message}`, { cause: error });
          throw error;
        }
      }
    }
    return Object.keys(data).length > 0 ? { id, data } : { id };
  },

  plans: {
    deactivate: [planStep("deactivate")],
    delete: [planStep("delete")],
    "revoke-entitlement": [planStep("revoke-entitlement")],
  },

  async verify(account, ctx) {
    const def = definitionOf(ctx.config);
    const intent = ctx.intent.kind;
    const probes = def.verify[intent] ?? (intent === "delete" && !def.plans.delete ? def.verify.deactivate : undefined);
    if (!probes) throw new TargetError("permanent", `the http definition has no verify.${intent}; add the read that shows the plan's effect`);
    const results: Probe[] = [];
    for (const spec of probes) results.push(await probe(spec, account, ctx));
    const evidence = results.map((r) => r.evidence).join("; ");
    return results.every((r) => r.revoked) ? { revoked: true, evidence } : { revoked: false, evidence };
  },
} satisfies Connector<HttpConfig>;
