import { ConfigError, loadConfig } from "../src/config.js";

describe("loadConfig(env)", () => {
  it("starts on embedded PGlite in ./data with no configuration", () => {
    const config = loadConfig({});
    expect(config).toEqual(expect.objectContaining({ port: 3000, host: "127.0.0.1", dataDir: "./data", databaseUrl: undefined, logLevel: "info", demoConnection: true }));
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("uses the PostgreSQL server named by DATABASE_URL", () => {
    expect(loadConfig({ DATABASE_URL: "postgres://u@db:5432/scim" }).databaseUrl).toBe("postgres://u@db:5432/scim");
  });

  it.each([
    [{ PORT: "eighty" }, /PORT="eighty" is not a whole number from 0 to 65535/],
    [{ PORT: "70000" }, /PORT="70000"/],
    [{ LOG_LEVEL: "loud" }, /LOG_LEVEL="loud" is unknown; use one of error, warn, info/],
    [{ DATABASE_URL: "mysql://x" }, /DATABASE_URL is not a valid postgres:\/\/ or postgresql:\/\/ URL/],
    [{ ADMIN_TOKEN: "short" }, /ADMIN_TOKEN is shorter than 24 characters/],
    [{ DEMO_CONNECTION: "perhaps" }, /DEMO_CONNECTION="perhaps" is not a boolean/],
    [{ PUBLIC_URL: "ftp://x" }, /PUBLIC_URL is not a valid http:\/\/ or https:\/\/ URL/],
  ])("refuses %j with a message that names the fix", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("reports every bad value at once", () => {
    try {
      loadConfig({ PORT: "x", LOG_LEVEL: "y" });
      throw new Error("expected a ConfigError");
    } catch (error) {
      expect((error as ConfigError).problems).toHaveLength(2);
    }
  });

  it("never echoes a password from DATABASE_URL in its message", () => {
    expect(() => loadConfig({ DATABASE_URL: "mysql://user:s3cret@db/x" })).toThrow(/\*\*\*@/);
    expect(() => loadConfig({ DATABASE_URL: "mysql://user:s3cret@db/x" })).not.toThrow(/s3cret/);
  });
});
