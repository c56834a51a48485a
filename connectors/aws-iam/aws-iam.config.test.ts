import { configProblems, iamUserNameOf } from "./config.js";

describe("aws-iam config", () => {
  it.each([
    ["keys", { accessKeyId: "AKIAABCDEFGHIJKLMNOP", secretAccessKey: "s" }],
    ["the default credential chain", {}],
    ["a region and a loopback endpoint", { region: "eu-west-1", endpoint: "http://127.0.0.1:4566" }],
    ["a template", { userNameTemplate: "{userName}" }],
  ])("accepts %s", (_, config) => {
    expect(configProblems(config)).toEqual([]);
  });

  it.each([
    ["a key id without its secret", { accessKeyId: "AKIAABCDEFGHIJKLMNOP" }, "together"],
    ["a malformed key id", { accessKeyId: "akia-x", secretAccessKey: "s" }, "AWS access key id"],
    ["a region that is not one", { region: "Europe" }, "us-east-1"],
    ["a plain-http remote endpoint", { endpoint: "http://iam.example.com" }, "https://"],
    ["an endpoint with credentials", { endpoint: "https://u:p@iam.example.com" }, "fragment or credentials"],
    ["an unknown placeholder", { userNameTemplate: "{email}" }, "{email} is unknown"],
    ["a template without placeholders", { userNameTemplate: "alice" }, "every subject would map to one IAM user"],
    ["an unknown field", { sessionToken: "x" }, "not an aws-iam config field"],
  ])("refuses %s", (_, config, says) => {
    expect(configProblems(config).join("; ")).toContain(says);
  });

  it.each([
    ["alice@example.com", "{localPart}", "alice"],
    ["alice@example.com", "{userName}", "alice@example.com"],
    ["a@b@example.com", "{localPart}", "a@b"],
    ["bob", "{localPart}", "bob"],
    ["carol@example.com", "ext-{localPart}", "ext-carol"],
    ["dana lee@example.com", "{localPart}", null],
    [`${"x".repeat(65)}@example.com`, "{localPart}", null],
  ])("%s with %s → %s", (userName, template, name) => {
    expect(iamUserNameOf(userName, template)).toBe(name);
  });
});
