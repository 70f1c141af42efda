/** Helpers for commands that work on the database directly, as the `cli` system actor. */
import { randomUUID } from "node:crypto";
import { config } from "../core/config.ts";
import { withContext } from "../core/context.ts";
import { closePool } from "../core/platform/db/index.ts";
import { closeRedis } from "../core/platform/redis.ts";
import { postgresFailure } from "./failures.ts";

export async function asSystem<T>(fn: () => Promise<T>): Promise<T> {
  const id = randomUUID();
  try {
    return await withContext({ requestId: id, correlationId: id, actor: { type: "system", name: "cli" } }, fn);
  } catch (e) {
    throw postgresFailure(e, config().databaseUrl, "DATABASE_URL") ?? e;
  } finally {
    await closePool();
    await closeRedis();
  }
}
