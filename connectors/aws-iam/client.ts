/**
 * The IAM client: one `IAMClient` per target config, with the SDK's own retries off
 * (`maxAttempts: 1`) so the engine's retry policy and rate gate rule, and every failure turned
 * into a classified TargetError. The SDK signs (SigV4) and speaks the Query protocol itself, so
 * calls go around `ctx.http`; each waits on `ctx.throttle` first.
 */
import { IAMClient } from "@aws-sdk/client-iam";
import type { TargetContext } from "../../src/connector-kit.js";
import { settingsOf, type AwsIamConfig } from "./config.js";
import { awsError, isNoSuchEntity } from "./errors.js";

export type Ctx = TargetContext<AwsIamConfig>;

const clients = new WeakMap<object, IAMClient>();

export function clientOf(config: AwsIamConfig): IAMClient {
  const cached = clients.get(config);
  if (cached) return cached;
  const s = settingsOf(config);
  const client = new IAMClient({
    region: s.region,
    maxAttempts: 1,
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    ...(s.credentials ? { credentials: s.credentials } : {}),
    requestHandler: { requestTimeout: 10_000, connectionTimeout: 5_000 },
  });
  clients.set(config, client);
  return client;
}

type Send<T> = (client: IAMClient, options: { abortSignal: AbortSignal }) => Promise<T>;

/** One IAM call; any failure is a classified TargetError naming `what` (`Action(userName)`). */
export async function iam<T>(ctx: Ctx, what: string, send: Send<T>): Promise<T> {
  await ctx.throttle?.();
  try {
    return await send(clientOf(ctx.config), { abortSignal: ctx.signal });
  } catch (error) {
    throw awsError(error, what);
  }
}

/** One IAM call whose `NoSuchEntity` is an answer: null. */
export async function iamOrGone<T>(ctx: Ctx, what: string, send: Send<T>): Promise<T | null> {
  await ctx.throttle?.();
  try {
    return await send(clientOf(ctx.config), { abortSignal: ctx.signal });
  } catch (error) {
    if (isNoSuchEntity(error)) return null;
    throw awsError(error, what);
  }
}

/** Every page of a Marker-paginated IAM list; null when the user is gone (NoSuchEntity). */
export async function listAll<T>(ctx: Ctx, what: string, page: (marker: string | undefined) => Send<{ items: T[]; marker?: string | undefined; truncated?: boolean | undefined }>): Promise<T[] | null> {
  const items: T[] = [];
  let marker: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const r = await iamOrGone(ctx, what, page(marker));
    if (r === null) return null;
    items.push(...r.items);
    if (!r.truncated || !r.marker) return items;
    marker = r.marker;
  }
  return items;
}
