/**
 * Finished jobs' blackboards expire: each minute the AgentSweep finds the jobs settled lately
 * (completed, failed or cancelled: `settled_at`, set once by the jobs domain's finalise) and gives
 * their namespace `job:<id>` an expiry of BLACKBOARD_JOB_NAMESPACE_TTL_S (one EVALSHA per job,
 * all of a batch in one pipeline). The jobs domain is not touched: nothing runs on its hot path,
 * and it does not import agents (agents imports jobs; the other way would be a cycle).
 *
 * The sweep looks back LOOKBACK_MS each time, so a job is seen by several runs; the script marks
 * the namespace (`:fin`, SET NX) and does nothing the second time. A job settled while the
 * sweep was down for longer than the lookback keeps the idle expiry (BLACKBOARD_NAMESPACE_TTL_S).
 */
import { config } from "../config.ts";
import { clock } from "../platform/clock.ts";
import { query } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import { redis } from "../platform/redis.ts";
import * as sql from "./agents.sql.ts";
import { boardBase, EXPIRE_NS } from "./blackboard-scripts.ts";

/** How far back each run looks for settled jobs: a few missed runs of a 1-minute cron. */
export const LOOKBACK_MS = 15 * 60_000;
const BATCH = 500;

/** The sweep's work: the namespaces of jobs settled in the lookback expire soon; how many were marked now. */
export async function expireFinishedJobBoards(): Promise<number> {
  const now = clock().now();
  const since = new Date(now.getTime() - LOOKBACK_MS);
  const ttlMs = config().agents.blackboardJobNamespaceTtlS * 1000;
  let after: { settled_at: Date; id: string } | undefined;
  let marked = 0;
  for (;;) {
    const { rows } = await query<{ id: string; tenant_id: string; settled_at: Date }>(sql.settledJobs, [
      since,
      now,
      after?.settled_at ?? null,
      after?.id ?? null,
      BATCH,
    ]);
    if (rows.length === 0) break;
    const pipe = redis().pipeline();
    for (const j of rows) pipe.eval(EXPIRE_NS, [boardBase(j.tenant_id, `job:${j.id}`)], [ttlMs]);
    for (const [err, reply] of await pipe.exec()) {
      if (err) log.warn("agents: a finished job's blackboard was not given its expiry", { err });
      else if (reply === 1) marked += 1;
    }
    if (rows.length < BATCH) break;
    after = rows[rows.length - 1];
  }
  return marked;
}
