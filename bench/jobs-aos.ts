/**
 * AOS's side of `npm run bench:jobs`: its own claim / complete / charge path, in-process through
 * core (`Jobs.claim`, `Jobs.complete` inside withContext, as the HTTP handlers call them), on
 * core's pool (DB_POOL_MAX set by bench/jobs.ts before first use). Worker `w` works job
 * `w % jobs`, as the key of that job's tenant: claim up to `batch` items and complete them (one
 * `Jobs.complete` for a single item, one `Jobs.completeMany` for a batch), until a claim comes
 * back empty or the job is finalised.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { type Actor, withContext } from "../core/context.ts";
import * as Credits from "../core/credits/index.ts";
import { AppError } from "../core/errors.ts";
import type { JobRecord } from "../core/jobs/index.ts";
import * as Jobs from "../core/jobs/index.ts";
import { pool } from "../core/platform/db/index.ts";
import * as Tenancy from "../core/tenancy/index.ts";

export interface BenchTenant {
  id: string;
  actor: Actor;
}

const as = <T>(actor: Actor, fn: () => Promise<T>): Promise<T> => {
  const id = randomUUID();
  return withContext({ requestId: id, correlationId: id, actor }, fn);
};
const system = { type: "system", name: "bench" } as const;

/** `n` tenants, each with an agent key (the workers' actor) and `credits` granted through core. */
export async function makeTenants(n: number, credits: number): Promise<BenchTenant[]> {
  const out: BenchTenant[] = [];
  for (let i = 0; i < n; i++) {
    const t = await as(system, () =>
      Tenancy.createTenant({
        slug: `bench-${i}-${randomBytes(3).toString("hex")}`,
        name: `Jobs bench ${i}`,
        initial_key_role: "agent",
      }),
    );
    if (!t.key) throw new Error("tenant created without its key");
    await as({ ...system, tenantId: t.id }, () => Credits.grant({ tenant_id: t.id, amount: credits, reason: "bench" }));
    out.push({ id: t.id, actor: { type: "key", keyId: t.key.id, tenantId: t.id, role: "agent" } });
  }
  return out;
}

export interface BenchJob {
  tenant: BenchTenant;
  id: string;
  items: number;
}

/** `items` external items split over one job per tenant (untimed preparation, through Jobs.spawn). */
export async function spawnJobs(tenants: BenchTenant[], items: number, cost: number): Promise<BenchJob[]> {
  const jobs: BenchJob[] = [];
  for (const [t, tenant] of tenants.entries()) {
    const n = Math.floor(items / tenants.length) + (t < items % tenants.length ? 1 : 0);
    if (n === 0) continue;
    const job = await as(tenant.actor, () =>
      Jobs.spawn({
        task: "external",
        items: Array.from({ length: n }, (_, i) => ({ input: { n: i } })),
        parallelism: 1000,
        credits_per_item: cost,
        max_attempts: 3,
        item_timeout_s: 60,
      }),
    );
    jobs.push({ tenant, id: job.id, items: n });
  }
  return jobs;
}

/** Every connection of core's pool opened before the clock starts (as barePool does). */
export async function warmPool(connections: number): Promise<void> {
  const p = await pool();
  const clients = await Promise.all(Array.from({ length: connections }, () => p.connect()));
  for (const c of clients) c.release();
}

/** Work every item of `jobs`; returns the items done. Timed by the caller. */
export async function runAos(jobs: BenchJob[], workers: number, batch: number): Promise<number> {
  let done = 0;
  async function worker(w: number): Promise<void> {
    const job = jobs[w % jobs.length] as BenchJob;
    const worker_id = `aos-${w}`;
    await as(job.tenant.actor, async () => {
      for (;;) {
        let items: { id: string }[];
        try {
          items = (await Jobs.claim(job.id, { worker_id, max_items: batch, lease_s: 60 })).items;
        } catch (e) {
          // The last completion finalised the job: nothing left.
          if (e instanceof AppError && e.code === "jobs.not_running") return;
          throw e;
        }
        if (!items.length) return;
        if (batch === 1) {
          await Jobs.complete((items[0] as { id: string }).id, { worker_id, result: { ok: true } });
          done++;
          continue;
        }
        // A batch is completed as it was claimed: in one call (completeMany, one statement).
        const r = await Jobs.completeMany({
          worker_id,
          items: items.map((it) => ({ id: it.id, result: { ok: true } })),
        });
        if (r.refused.length) throw new Error(`refused: ${JSON.stringify(r.refused[0])}`);
        done += r.completed.length;
      }
    });
  }
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  return done;
}

/**
 * After a run (untimed): every job finished, settled and charged exactly, else it throws — a
 * fast wrong answer is no result. Settlement follows the last completion's commit; it is
 * waited for a little.
 */
export async function verifyAos(jobs: BenchJob[], cost: number): Promise<void> {
  for (const j of jobs) {
    let r: JobRecord = await as(j.tenant.actor, () => Jobs.get(j.id));
    for (let i = 0; i < 100 && !r.settled_at; i++) {
      await new Promise((ok) => setTimeout(ok, 100));
      r = await as(j.tenant.actor, () => Jobs.get(j.id));
    }
    const c = r.credits;
    const problems = [
      r.counts.done !== j.items && `${r.counts.done}/${j.items} done (${JSON.stringify(r.counts)})`,
      !r.settled_at && "not settled",
      Math.round(c.charged * 1e4) !== Math.round(j.items * cost * 1e4) &&
        `charged ${c.charged}, expected ${j.items * cost}`,
      Math.round(c.reserved * 1e4) !== Math.round((c.charged + c.released + c.refunded) * 1e4) &&
        `reserved ${c.reserved} != charged + released + refunded`,
    ].filter(Boolean);
    if (problems.length) throw new Error(`AOS job ${j.id}: ${problems.join("; ")}`);
  }
}
