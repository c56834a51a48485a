import { TargetError } from "../../src/connector-kit.js";
import { configFields, configProblems, settingsOf, type ScimConfig } from "./config.js";
import connector from "./index.js";

const good = { baseUrl: "https://app.example.com/scim/v2", token: "t0ken" };

describe("scim config", () => {
  it("declares every field it reads, with the secrets marked", () => {
    expect(connector.configFields).toBe(configFields);
    expect(configFields.filter((f) => f.secret).map((f) => f.name)).toEqual(["token", "password"]);
    expect(configFields.filter((f) => f.required).map((f) => f.name)).toEqual(["baseUrl"]);
  });

  it("applies the defaults", () => {
    expect(settingsOf(good)).toEqual({
      baseUrl: "https://app.example.com/scim/v2",
      authorization: "Bearer t0ken",
      matchAttribute: "userName",
      matchValue: "userName",
      deactivateWith: "patch-path",
      removeGroupsOnDeactivate: false,
      groupEntitlements: "id",
    });
    expect(settingsOf({ ...good, baseUrl: "https://app.example.com/scim/v2/", matchAttribute: "emails.value" })).toMatchObject({ baseUrl: "https://app.example.com/scim/v2", matchValue: "email" });
    expect(settingsOf({ baseUrl: good.baseUrl, username: "bridge", password: "pw" }).authorization).toBe(`Basic ${Buffer.from("bridge:pw").toString("base64")}`);
  });

  const rows: { name: string; config: Record<string, unknown>; problem: string }[] = [
    { name: "no baseUrl", config: { token: "t" }, problem: "baseUrl is required" },
    { name: "baseUrl not a URL", config: { ...good, baseUrl: "app.example.com" }, problem: "is not a URL" },
    { name: "plain http to a remote host", config: { ...good, baseUrl: "http://app.example.com/scim/v2" }, problem: "baseUrl must use https://" },
    { name: "baseUrl ending in /Users", config: { ...good, baseUrl: "https://app.example.com/scim/v2/Users" }, problem: "baseUrl must end before /Users" },
    { name: "baseUrl with a query", config: { ...good, baseUrl: "https://app.example.com/scim/v2?x=1" }, problem: "no query string" },
    { name: "baseUrl with credentials", config: { ...good, baseUrl: "https://u:p@app.example.com/scim/v2" }, problem: "must not carry credentials" },
    { name: "no credentials", config: { baseUrl: good.baseUrl }, problem: "credentials are required" },
    { name: "both token and Basic", config: { ...good, username: "u", password: "p" }, problem: "not both" },
    { name: "Basic without a password", config: { baseUrl: good.baseUrl, username: "u" }, problem: "needs both username and password" },
    { name: "empty token", config: { ...good, token: " " }, problem: "token must be a non-empty string" },
    { name: "unknown matchAttribute", config: { ...good, matchAttribute: "mail" }, problem: "matchAttribute must be one of userName, externalId, emails.value" },
    { name: "unknown matchValue", config: { ...good, matchValue: "employeeNumber" }, problem: "matchValue must be one of" },
    { name: "unknown deactivateWith", config: { ...good, deactivateWith: "patch" }, problem: "deactivateWith must be one of patch-path, patch-no-path, put, delete" },
    { name: "removeGroupsOnDeactivate not a boolean", config: { ...good, removeGroupsOnDeactivate: "yes" }, problem: "removeGroupsOnDeactivate must be true or false" },
    { name: "unknown groupEntitlements", config: { ...good, groupEntitlements: "name" }, problem: "groupEntitlements must be one of id, displayName" },
    { name: "an unknown field", config: { ...good, deactivate: "put" }, problem: "deactivate is not a scim config field" },
  ];

  it.each(rows)("refuses $name, naming the fix", ({ config, problem }) => {
    const problems = configProblems(config);
    expect(problems).toEqual([expect.stringContaining(problem)]);
    let thrown: unknown;
    try {
      settingsOf(config as unknown as ScimConfig);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TargetError);
    expect(thrown).toMatchObject({ kind: "permanent", message: expect.stringContaining(problem) });
  });

  it("accepts plain http only for a loopback test server", () => {
    expect(configProblems({ ...good, baseUrl: "http://127.0.0.1:8080/scim/v2" })).toEqual([]);
    expect(configProblems({ ...good, baseUrl: "http://localhost:8080/scim/v2" })).toEqual([]);
  });

  it("never shows a secret in a problem", () => {
    const problems = configProblems({ baseUrl: "https://app.example.com/scim/v2/Users", token: "super-secret-token", username: "u", password: "super-secret-pw" });
    expect(problems.join(" ")).not.toMatch(/super-secret/);
  });
});
