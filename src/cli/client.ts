/**
 * The CLI talks to a running bridge through /admin/api, never to its storage: embedded PGlite
 * belongs to the serving process alone.
 */
export class CliError extends Error {
  constructor(message: string, readonly hint?: string, readonly exitCode = 1) {
    super(message);
    this.name = "CliError";
  }
}

export interface AdminClientOptions {
  url: string;
  token: string | undefined;
}

export function adminClientFromEnv(env: NodeJS.ProcessEnv): AdminClientOptions {
  return { url: (env.SCIM_BRIDGE_URL ?? "http://127.0.0.1:3000").replace(/\/+$/, ""), token: env.SCIM_BRIDGE_ADMIN_TOKEN };
}

export async function adminRequest<T>(options: AdminClientOptions, method: string, path: string, body?: unknown): Promise<T> {
  if (!options.token) {
    throw new CliError("SCIM_BRIDGE_ADMIN_TOKEN is not set", "export SCIM_BRIDGE_ADMIN_TOKEN=<the admin token printed at first start, or ADMIN_TOKEN>", 2);
  }
  let response: Response;
  try {
    response = await fetch(`${options.url}/admin/api${path}`, {
      method,
      headers: { authorization: `Bearer ${options.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw new CliError(`cannot reach the bridge at ${options.url} (${(error as Error).message})`, "start it with `scim-bridge serve`, or set SCIM_BRIDGE_URL");
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    throw new CliError(`the bridge answered ${response.status} with a body that is not JSON`, `is ${options.url} a scim-bridge?`);
  }
  if (!response.ok) {
    const error = (parsed as { error?: { message?: string; hint?: string; problems?: string[] } } | undefined)?.error;
    const problems = error?.problems && error.problems.length > 1 ? "\n  - " + error.problems.join("\n  - ") : "";
    throw new CliError(`${error?.message ?? `HTTP ${response.status}`}${problems}`, error?.hint);
  }
  return parsed as T;
}
