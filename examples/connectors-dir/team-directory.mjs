// An app owner's connector module, loaded from CONNECTORS_DIR with no change to the bridge.
// The default export is a function: the bridge calls it with its connector kit (TargetError and
// the rest of src/connector-kit.ts), so this file needs no import and runs from any folder.
// It talks to the "team directory" API of the README's walk-through (the test suite's fake target):
//   GET  /users?userName=…  → 200 {id, userName, active, sessions, tokens, teams} | 404
//   POST /users/:id/revoke-sessions, POST /users/:id/suspend, DELETE /users/:id, DELETE /users/:id/teams/:team
export default (kit) => {
  const { TargetError } = kit;
  const url = (ctx, path) => ctx.config.baseUrl.replace(/\/+$/, "") + path;
  const auth = (ctx) => ({ authorization: `Bearer ${ctx.config.token}` });
  const user = (id) => `/users/${encodeURIComponent(id)}`;
  // a write whose 404 means "already gone": safe to run twice
  const write = async (ctx, method, path) =>
    (await ctx.http.request(url(ctx, path), { method, headers: auth(ctx), accept: [404] })).status === 404 ? "already-done" : "done";
  const read = async (ctx, id) => {
    const { status, body } = await ctx.http.request(url(ctx, user(id)), { headers: auth(ctx), accept: [404] });
    if (status === 404) return null;
    if (typeof body?.active !== "boolean" || !Array.isArray(body?.teams)) throw new TargetError("permanent", `GET ${user(id)} answered an unexpected body`);
    return body;
  };

  return {
    id: "team-directory",
    configFields: [
      { name: "baseUrl", description: "The API root, e.g. https://teams.example.com/api", required: true },
      { name: "token", description: "A bearer token allowed to read users and revoke their access", required: true, secret: true },
    ],
    async validate(ctx) {
      await ctx.http.request(url(ctx, "/users"), { headers: auth(ctx), query: { userName: "scim-bridge-validate" }, accept: [404] });
    },
    async findAccount(subject, ctx) {
      const { status, body } = await ctx.http.request(url(ctx, "/users"), { headers: auth(ctx), query: { userName: subject.userName }, accept: [404] });
      return status === 404 ? null : { id: String(body.id) };
    },
    plans: {
      deactivate: [
        { name: "revoke-sessions", run: (account, ctx) => write(ctx, "POST", `${user(account.id)}/revoke-sessions`) },
        { name: "suspend-user", run: (account, ctx) => write(ctx, "POST", `${user(account.id)}/suspend`) },
      ],
      delete: [
        { name: "revoke-sessions", run: (account, ctx) => write(ctx, "POST", `${user(account.id)}/revoke-sessions`) },
        { name: "delete-user", run: (account, ctx) => write(ctx, "DELETE", user(account.id)) },
      ],
      "revoke-entitlement": [
        { name: "remove-from-team", run: (account, ctx) => write(ctx, "DELETE", `${user(account.id)}/teams/${encodeURIComponent(ctx.intent.entitlement)}`) },
      ],
    },
    async verify(account, ctx) {
      const found = await read(ctx, account.id);
      const what = `GET ${user(account.id)}`;
      if (!found) return { revoked: true, evidence: `${what} → 404` };
      if (ctx.intent.kind === "delete") return { revoked: false, evidence: `${what} → 200 (still exists)` };
      if (ctx.intent.kind === "revoke-entitlement") {
        const still = found.teams.includes(ctx.intent.entitlement);
        return { revoked: !still, evidence: `${what} → teams=[${found.teams.join(", ")}]` };
      }
      const gone = !found.active && found.sessions === 0 && found.tokens === 0;
      return { revoked: gone, evidence: `${what} → active=${found.active}, sessions=${found.sessions}, tokens=${found.tokens}` };
    },
  };
};
