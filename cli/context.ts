/** Helpers for commands that work on the database directly, as the `cli` system actor. */
import { randomUUID } from "node:crypto";
import { withContext } from "../core/context.ts";
import { closePool } from "../core/platform/db/index.ts";
import { closeRedis } from "../core/platform/redis.ts";

export async function asSystem<T>(fn: () => Promise<T>): Promise<T> {
  const id = randomUUID();
  try {
    return await withContext({ requestId: id, correlationId: id, actor: { type: "system", name: "cli" } }, fn);
  } finally {
    await closePool();
    await closeRedis();
  }
}
