/**
 * The `github` connector kind: one GitHub organization (github.com / GitHub Enterprise Cloud).
 * README.md beside this file is the org owner's guide.
 *
 * Finds: `GET /orgs/{org}/memberships/{login}` (member or pending invitation), else the org's
 * outside collaborators listing; the login comes from the subject per `loginFrom`.
 * Revokes (deactivate = delete: GitHub has no org-level disable): revoke-sso-credential-authorizations
 * (samlSso), revoke-fine-grained-token-access (fineGrainedTokens), remove-org-membership,
 * remove-outside-collaborator; revoke-entitlement = remove-team-membership (entitlement = team slug).
 * Verifies: membership → 404, login absent from outside collaborators, credential authorizations
 * and fine-grained PAT grants listing none for the login; team membership → 404.
 */
import { TargetError, type Account, type Connector, type IntentKind, type Probe, type RevokeStep, type Subject } from "../../src/connector-kit.js";
import { githubRequest, listAll, orgPath, type Ctx } from "./client.js";
import { configFields, configProblems, LOGIN, registrationWarnings, settingsOf, type GithubConfig } from "./config.js";

export type { GithubConfig } from "./config.js";

type Step = RevokeStep<GithubConfig>;
const seg = encodeURIComponent;

/** The login the subject has on GitHub per `loginFrom`, or null when the subject carries none. */
export function loginOf(subject: Subject, ctx: Ctx): string | null {
  const { loginFrom } = settingsOf(ctx.config);
  const raw = loginFrom === "externalId" ? subject.externalId ?? "" : loginFrom === "userName-local-part" ? subject.userName.split("@")[0] ?? "" : subject.userName;
  return raw.trim() === "" ? null : raw.trim();
}

const loginOfAccount = (account: Account): string => String(account.data?.login ?? account.id);

// --- reads, shared by steps and verify ---------------------------------------------------------

/** `GET /orgs/{org}/memberships/{login}`: 200 {state, role} or 404 (docs.github.com/rest/orgs/members#get-organization-membership-for-a-user). */
async function membershipOf(ctx: Ctx, login: string): Promise<{ present: false; evidence: string } | { present: true; state: string; role: string; userId?: number; evidence: string }> {
  const r = await githubRequest(ctx, { path: orgPath(ctx, `/memberships/${seg(login)}`), call: "membership", answers: [404] });
  if (r.status === 404) return { present: false, evidence: `${r.what} → 404 (not a member, no pending invitation)` };
  const body = (r.body ?? {}) as { state?: unknown; role?: unknown; user?: { login?: unknown; id?: unknown } };
  if (typeof body.state !== "string") throw new TargetError("permanent", `${r.what} answered ${r.status} without a membership state; membership cannot be read`);
  if (typeof body.user?.login === "string" && body.user.login.toLowerCase() !== login.toLowerCase()) throw new TargetError("permanent", `${r.what} answered the membership of another login; not believed`);
  return { present: true, state: body.state, role: String(body.role ?? "?"), ...(typeof body.user?.id === "number" ? { userId: body.user.id } : {}), evidence: `${r.what} → ${r.status} state=${body.state} role=${String(body.role ?? "?")}` };
}

/** `GET /orgs/{org}/outside_collaborators`, every page (docs.github.com/rest/orgs/outside-collaborators). */
async function isOutsideCollaborator(ctx: Ctx, login: string): Promise<{ present: boolean; evidence: string }> {
  const { items, what } = await listAll(ctx, { path: orgPath(ctx, "/outside_collaborators"), call: "outside-collaborator" });
  const present = items.some((u) => typeof u.login === "string" && u.login.toLowerCase() === login.toLowerCase());
  return { present, evidence: `${what} → ${items.length} listed, ${present ? "the login among them" : "the login not among them"}` };
}

/** `GET /orgs/{org}/credential-authorizations?login=` (GHEC, docs.github.com/enterprise-cloud@latest/rest/orgs/orgs#list-saml-sso-authorizations-for-an-organization). */
async function credentialAuthorizationsOf(ctx: Ctx, login: string): Promise<{ ids: number[]; evidence: string }> {
  const { items, what } = await listAll(ctx, { path: orgPath(ctx, "/credential-authorizations"), query: { login }, call: "credential-authorizations" });
  // the filter is documented; the login is checked again here so an ignored filter cannot revoke someone else's
  const ids = items.filter((c) => typeof c.login === "string" && c.login.toLowerCase() === login.toLowerCase() && typeof c.credential_id === "number").map((c) => c.credential_id as number);
  return { ids, evidence: `${what}?login=… → ${ids.length} SSO credential authorization(s) for the login` };
}

/** `GET /orgs/{org}/personal-access-tokens?owner=` (GitHub Apps only, docs.github.com/rest/orgs/personal-access-tokens). */
async function patGrantsOf(ctx: Ctx, login: string): Promise<{ ids: number[]; evidence: string }> {
  const { items, what } = await listAll(ctx, { path: orgPath(ctx, "/personal-access-tokens"), query: { owner: login }, call: "personal-access-tokens" });
  const ids = items
    .filter((g) => typeof g.id === "number" && typeof (g.owner as { login?: unknown } | undefined)?.login === "string" && ((g.owner as { login: string }).login.toLowerCase() === login.toLowerCase()))
    .map((g) => g.id as number);
  return { ids, evidence: `${what}?owner=… → ${ids.length} fine-grained PAT grant(s) for the login` };
}

/** `GET /orgs/{org}/teams/{team_slug}/memberships/{login}` → 200 {state, role} or 404 (docs.github.com/rest/teams/members#get-team-membership-for-a-user). */
async function teamMembershipOf(ctx: Ctx, team: string, login: string): Promise<{ present: boolean; evidence: string }> {
  const r = await githubRequest(ctx, { path: orgPath(ctx, `/teams/${seg(team)}/memberships/${seg(login)}`), call: "team-membership", answers: [404] });
  if (r.status === 404) return { present: false, evidence: `${r.what} → 404 (not in the team, or no such team)` };
  const body = (r.body ?? {}) as { state?: unknown; role?: unknown };
  if (typeof body.state !== "string") throw new TargetError("permanent", `${r.what} answered ${r.status} without a membership state; team membership cannot be read`);
  return { present: true, evidence: `${r.what} → ${r.status} state=${body.state} role=${String(body.role ?? "?")}` };
}

// --- steps -------------------------------------------------------------------------------------

/** Deletes each SSO credential authorization one by one (204, synchronous; 404 already gone), rather than the queued per-user revoke (202). */
const revokeSsoCredentialAuthorizations: Step = {
  name: "revoke-sso-credential-authorizations",
  async run(account, ctx) {
    const login = loginOfAccount(account);
    const { ids, evidence } = await credentialAuthorizationsOf(ctx, login);
    if (ids.length === 0) {
      ctx.note?.({ evidence });
      return "already-done";
    }
    let deleted = 0;
    for (const id of ids) {
      const r = await githubRequest(ctx, { method: "DELETE", path: orgPath(ctx, `/credential-authorizations/${id}`), call: "credential-authorizations", answers: [404] });
      if (r.status !== 404) deleted++;
    }
    ctx.note?.({ evidence: `${evidence}; DELETE /orgs/…/credential-authorizations/{id} → 204 for ${deleted}, 404 (already gone) for ${ids.length - deleted}` });
    return deleted > 0 ? "done" : "already-done";
  },
};

/** Revokes the login's fine-grained PAT grants in bulk: 202, a queued job; the next listing (and verify) shows whether it ran. */
const revokeFineGrainedTokenAccess: Step = {
  name: "revoke-fine-grained-token-access",
  async run(account, ctx) {
    const login = loginOfAccount(account);
    const { ids, evidence } = await patGrantsOf(ctx, login);
    if (ids.length === 0) {
      ctx.note?.({ evidence });
      return "already-done";
    }
    for (let i = 0; i < ids.length; i += 100) {
      await githubRequest(ctx, { method: "POST", path: orgPath(ctx, "/personal-access-tokens"), json: { action: "revoke", pat_ids: ids.slice(i, i + 100) }, call: "personal-access-tokens" });
    }
    ctx.note?.({ evidence: `${evidence}; POST /orgs/…/personal-access-tokens {action: revoke} → 202 (queued; verify lists the grants again)` });
    return "done";
  },
};

/** `DELETE /orgs/{org}/memberships/{login}`: removes a member (and their team memberships) or cancels a pending invitation; 404 already gone. */
const removeOrgMembership: Step = {
  name: "remove-org-membership",
  async run(account, ctx) {
    const login = loginOfAccount(account);
    const before = await membershipOf(ctx, login);
    if (!before.present) {
      ctx.note?.({ evidence: before.evidence });
      return "already-done";
    }
    const r = await githubRequest(ctx, { method: "DELETE", path: orgPath(ctx, `/memberships/${seg(login)}`), call: "membership", answers: [404] });
    ctx.note?.({ evidence: `${before.evidence}; ${r.what} → ${r.status}` });
    return r.status === 404 ? "already-done" : "done";
  },
};

/** `DELETE /orgs/{org}/outside_collaborators/{login}`: removes them from every org repository. */
const removeOutsideCollaborator: Step = {
  name: "remove-outside-collaborator",
  async run(account, ctx) {
    const login = loginOfAccount(account);
    const before = await isOutsideCollaborator(ctx, login);
    if (!before.present) {
      ctx.note?.({ evidence: before.evidence });
      return "already-done";
    }
    const r = await githubRequest(ctx, { method: "DELETE", path: orgPath(ctx, `/outside_collaborators/${seg(login)}`), call: "outside-collaborator", answers: [404] });
    ctx.note?.({ evidence: `${before.evidence}; ${r.what} → ${r.status}` });
    return r.status === 404 ? "already-done" : "done";
  },
};

/** `DELETE /orgs/{org}/teams/{team_slug}/memberships/{login}` for the one mapped team. */
const removeTeamMembership: Step = {
  name: "remove-team-membership",
  async run(account, ctx) {
    if (ctx.intent.kind !== "revoke-entitlement") throw new TargetError("permanent", "remove-team-membership runs only for revoke-entitlement");
    const login = loginOfAccount(account);
    const team = ctx.intent.entitlement;
    const before = await teamMembershipOf(ctx, team, login);
    if (!before.present) {
      ctx.note?.({ evidence: before.evidence });
      return "already-done";
    }
    const r = await githubRequest(ctx, { method: "DELETE", path: orgPath(ctx, `/teams/${seg(team)}/memberships/${seg(login)}`), call: "team-membership", answers: [404] });
    ctx.note?.({ evidence: `${before.evidence}; ${r.what} → ${r.status}` });
    return r.status === 404 ? "already-done" : "done";
  },
};

const ALL_STEPS: readonly Step[] = [revokeSsoCredentialAuthorizations, revokeFineGrainedTokenAccess, removeOrgMembership, removeOutsideCollaborator];

/** Tokens first, then the account; the token steps only where the org and the token allow them. */
function plansFor(config: GithubConfig, intent: IntentKind): readonly Step[] | undefined {
  if (intent === "revoke-entitlement") return undefined;
  const { samlSso, fineGrainedTokens } = settingsOf(config);
  return ALL_STEPS.filter((s) => (s !== revokeSsoCredentialAuthorizations || samlSso) && (s !== revokeFineGrainedTokenAccess || fineGrainedTokens));
}

async function verify(account: Account, ctx: Ctx): Promise<Probe> {
  const login = loginOfAccount(account);
  const intent = ctx.intent;
  if (intent.kind === "revoke-entitlement") {
    const team = await teamMembershipOf(ctx, intent.entitlement, login);
    return { revoked: !team.present, evidence: team.evidence };
  }
  const { samlSso, fineGrainedTokens } = settingsOf(ctx.config);
  const evidence: string[] = [];
  let revoked = true;
  if (samlSso) {
    const c = await credentialAuthorizationsOf(ctx, login);
    evidence.push(c.evidence);
    if (c.ids.length > 0) revoked = false;
  }
  if (fineGrainedTokens) {
    const p = await patGrantsOf(ctx, login);
    evidence.push(p.ids.length > 0 ? `${p.evidence} (a queued revoke may not have run yet)` : p.evidence);
    if (p.ids.length > 0) revoked = false;
  }
  const m = await membershipOf(ctx, login);
  evidence.push(m.evidence);
  if (m.present) revoked = false;
  const o = await isOutsideCollaborator(ctx, login);
  evidence.push(o.evidence);
  if (o.present) revoked = false;
  return { revoked, evidence: evidence.join("; ") };
}

export default {
  id: "github",
  configFields,
  checkConfig: configProblems,
  registrationWarnings,

  async validate(ctx) {
    // the org is visible to the token (401 bad token, 404 wrong org), then an owner-only listing (403: not an owner)
    await githubRequest(ctx, { path: orgPath(ctx), call: "org" });
    await githubRequest(ctx, { path: orgPath(ctx, "/outside_collaborators"), query: { per_page: 1 }, call: "outside-collaborator" });
    const { samlSso, fineGrainedTokens } = settingsOf(ctx.config);
    if (samlSso) await githubRequest(ctx, { path: orgPath(ctx, "/credential-authorizations"), query: { per_page: 1 }, call: "credential-authorizations" });
    if (fineGrainedTokens) await githubRequest(ctx, { path: orgPath(ctx, "/personal-access-tokens"), query: { per_page: 1 }, call: "personal-access-tokens" });
  },

  async findAccount(subject, ctx) {
    const login = loginOf(subject, ctx);
    if (login === null) throw new TargetError("permanent", `the subject has no ${settingsOf(ctx.config).loginFrom} to take the GitHub login from; set loginFrom to a value the IdP sends`);
    // a value that cannot be a GitHub login is a loginFrom mistake, not an observed absence
    if (!LOGIN.test(login)) throw new TargetError("permanent", `the subject's ${settingsOf(ctx.config).loginFrom} is not a GitHub login (letters, digits, single hyphens): set loginFrom (e.g. userName-local-part or externalId)`);
    const m = await membershipOf(ctx, login);
    if (m.present) return { id: login, data: { login, relation: "member", state: m.state, role: m.role, ...(m.userId !== undefined ? { userId: m.userId } : {}) } };
    const o = await isOutsideCollaborator(ctx, login);
    if (o.present) return { id: login, data: { login, relation: "outside-collaborator" } };
    return null;
  },

  plans: {
    deactivate: ALL_STEPS,
    "revoke-entitlement": [removeTeamMembership],
  },
  plansFor,

  verify,
} satisfies Connector<GithubConfig>;
