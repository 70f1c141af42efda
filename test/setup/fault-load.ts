/**
 * Load for fault tests: workers that spawn jobs (each spawn writes a job, its items, a `reserve`
 * ledger row and a status_history row in one transaction) and read them back through a
 * Postgres-only route, recording every reply; then `checkWrites` proves that no accepted write was
 * lost and none was half made.
 *
 * Each spawn carries a marker in the job's metadata, so a job in the database can be traced to the
 * request that made it, including one whose reply was an error (a COMMIT that took effect while
 * its reply was lost: allowed, if whole).
 */
import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import { query } from "../../core/platform/db/index.ts";

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: any;
}
/** One HTTP call as the test makes it (`invoke` in process, `fetch` against `npm start`). */
export type Call = (method: string, path: string, o: { key: string; body?: unknown }) => Promise<Reply>;

export interface Outcome {
  route: "spawn" | "get";
  marker: string;
  status: number;
  code?: string;
  retryAfter?: string;
  ms: number;
  jobId?: string;
}

export const ITEMS_PER_SPAWN = 3;

/** Run `workers` loops of spawn-then-get until `stop()`; every reply is recorded. */
export function startLoad(call: Call, key: string, workers = 4): { stop: () => Promise<Outcome[]> } {
  const outcomes: Outcome[] = [];
  let running = true;
  const one = async (route: Outcome["route"], marker: string, fn: () => Promise<Reply>) => {
    const t0 = performance.now();
    const r = await fn();
    const o: Outcome = {
      route,
      marker,
      status: r.status,
      ms: performance.now() - t0,
      code: r.body?.error?.code,
      retryAfter: r.headers["retry-after"],
      jobId: r.status < 300 ? r.body?.id : undefined,
    };
    outcomes.push(o);
    return o;
  };
  const loop = async () => {
    while (running) {
      const marker = randomUUID();
      const spawned = await one("spawn", marker, () =>
        call("POST", "/api/v1/jobs", {
          key,
          body: {
            task: "external",
            items: Array.from({ length: ITEMS_PER_SPAWN }, (_, n) => ({ input: { n } })),
            credits_per_item: 1,
            metadata: { marker },
          },
        }),
      );
      if (spawned.jobId) await one("get", marker, () => call("GET", `/api/v1/jobs/${spawned.jobId}`, { key }));
    }
  };
  const loops = Array.from({ length: workers }, loop);
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return outcomes;
    },
  };
}

/** Every reply is a success or a retryable 503 of the database with Retry-After. */
export function expectSuccessOr503(outcomes: readonly Outcome[]): void {
  for (const o of outcomes) {
    if (o.status < 300) continue;
    expect({ status: o.status, code: o.code, retryAfter: o.retryAfter }, `${o.route} ${o.marker}`).toMatchObject({
      status: 503,
      code: expect.stringMatching(/^db\.(unavailable|shutdown)$/),
      retryAfter: "1",
    });
  }
}

export interface TenantRows {
  jobs: number;
  items: number;
  ledger: number;
  history: number;
}

export async function tenantRows(tenantId: string): Promise<TenantRows> {
  const { rows } = await query<TenantRows>(
    `select (select count(*) from jobs where tenant_id = $1) as jobs,
            (select count(*) from job_items where tenant_id = $1) as items,
            (select count(*) from credit_ledger where tenant_id = $1) as ledger,
            (select count(*) from status_history where tenant_id = $1) as history`,
    [tenantId],
  );
  return rows[0] as TenantRows;
}

/**
 * No accepted write lost, none half made: every 201 spawn's job is in the database whole (its
 * items, its reserve row, its history row); a job of a failed spawn is either absent or whole; and
 * the tenant's rows grew by exactly the whole jobs. Returns how many failed spawns committed anyway.
 */
export async function checkWrites(tenantId: string, before: TenantRows, outcomes: readonly Outcome[]): Promise<number> {
  const { rows } = await query<{ id: string; marker: string; items: number; reserves: number; history: number }>(
    `select j.id, j.metadata->>'marker' as marker,
            (select count(*) from job_items i where i.job_id = j.id) as items,
            (select count(*) from credit_ledger l where l.job_id = j.id and l.kind = 'reserve') as reserves,
            (select count(*) from status_history h where h.tenant_id = j.tenant_id and h.entity_type = 'job'
               and h.entity_id = j.id::text) as history
     from jobs j where j.tenant_id = $1 and j.metadata ? 'marker'`,
    [tenantId],
  );
  const byMarker = new Map(rows.map((r) => [r.marker, r]));
  const spawns = outcomes.filter((o) => o.route === "spawn");
  const accepted = spawns.filter((o) => o.status === 201);
  for (const o of accepted) {
    expect(byMarker.get(o.marker), `accepted spawn ${o.marker}`).toMatchObject({
      id: o.jobId,
      items: ITEMS_PER_SPAWN,
      reserves: 1,
      history: 1,
    });
  }
  for (const r of rows) {
    expect(r, `job ${r.id} is whole`).toMatchObject({ items: ITEMS_PER_SPAWN, reserves: 1, history: 1 });
    expect(spawns.some((o) => o.marker === r.marker)).toBe(true);
  }
  const committedAnyway = rows.length - accepted.length;
  const after = await tenantRows(tenantId);
  expect(after).toEqual({
    jobs: before.jobs + rows.length,
    items: before.items + rows.length * ITEMS_PER_SPAWN,
    ledger: before.ledger + rows.length,
    history: before.history + rows.length,
  });
  return committedAnyway;
}
