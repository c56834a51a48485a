/**
 * The users both servers are seeded with, numbered from 1: `user000001@example.com`, … Each is the
 * JSON SCIMMY's "in" schema produces for a plain User, without `schemas`, `id` and `meta`.
 */
export type SeedUser = {
  userName: string;
  name: { givenName: string; familyName: string };
  displayName: string;
  active: boolean;
  emails: { value: string; type: "work"; primary: boolean }[];
};

export function seedUserName(n: number): string {
  return `user${String(n).padStart(6, "0")}@example.com`;
}

export function seedUser(n: number): SeedUser {
  const userName = seedUserName(n);
  const familyName = String(n).padStart(6, "0");
  return {
    userName,
    name: { givenName: "User", familyName },
    displayName: `User ${familyName}`,
    active: true,
    emails: [{ value: userName, type: "work", primary: true }],
  };
}

/** `SEED_USERS` (Default: 100000). */
export function seedUserCount(env: NodeJS.ProcessEnv): number {
  const raw = env.SEED_USERS ?? "100000";
  const count = Number(raw);
  if (!/^\d+$/.test(raw) || count < 1 || count > 999_999) {
    throw new Error(`SEED_USERS=${JSON.stringify(raw)} is not a whole number from 1 to 999999; set e.g. SEED_USERS=100000`);
  }
  return count;
}
