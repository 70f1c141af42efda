/**
 * Postgres unreachable for the length of `fn`: the process's pool is swapped for one whose every
 * connection is refused (port 1), then put back. For the fail-open paths (a breaker whose store is
 * away). The URL carries a password, so a test can check that none reaches a log.
 *
 * @example
 *   await withPostgresAway(async () => expect(await Costsim.v2Enabled()).toBe(true));
 */
import { createPool, pool, setPool } from "../../core/platform/db/index.ts";

export const AWAY_URL = "postgres://postgres:pw@127.0.0.1:1/x";

export async function withPostgresAway<T>(fn: () => Promise<T>): Promise<T> {
  const live = await pool();
  const dead = await createPool({ url: AWAY_URL, driver: "pg", max: 1, statementTimeoutMs: 1000 });
  setPool(dead);
  try {
    return await fn();
  } finally {
    setPool(live);
    await dead.end().catch(() => {});
  }
}
