/**
 * `aos load-test` as a user runs it: the real `aos` process (bin/aos.js), in-process on this
 * file's database, and over HTTP against the real route handlers served by the local runtime's
 * HTTP server. Its verdicts are checked against the tables themselves, not only its own output.
 */
import { type AddressInfo, createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimCheck } from "../../cli/commands/load-test-checks.ts";
import { config } from "../../core/config.ts";
import { query } from "../../core/platform/db/index.ts";
import { routes } from "../../functions/routes.ts";
import { createHttpServer, type LocalHttpServer } from "../../local/http-server.ts";
import { createHandlerLoader, Invoker } from "../../local/invoke.ts";
import { assertCreditInvariants } from "../factories/credits.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { type AosRun, runAos } from "../setup/aos-cli.ts";

/** `aos load-test ...args` with this file's database, Redis and stage. */
function loadTest(args: string[], env: Record<string, string> = {}): Promise<AosRun> {
  return runAos(["load-test", ...args], env);
}

/** The run's job, checked in the tables: every item done once, by a worker of the run, charged once. */
async function tablesOf(jobId: string) {
  const { rows: items } = await query<{ status: string; n: number; workers: number; attempts: number }>(
    `select status, count(*)::int as n, count(distinct claimed_by)::int as workers, max(attempt) as attempts
     from job_items where job_id = $1 group by status`,
    [jobId],
  );
  const { rows: ledger } = await query<{ kind: string; n: number; items: number; amount: string }>(
    // n: movements (a batch's charge row counts each of its items); items: distinct items named.
    `with l as (select kind, amount, coalesce(item_ids, array[item_id]) as ids from credit_ledger where job_id = $1)
     select kind, sum(cardinality(ids))::int as n,
       (select count(distinct x)::int from l l2, unnest(l2.ids) as x where l2.kind = l.kind) as items,
       sum(amount) as amount
     from l group by kind order by kind`,
    [jobId],
  );
  const { rows: job } = await query<{ tenant_id: string; status: string; settled: boolean }>(
    "select tenant_id, status, settled_at is not null as settled from jobs where id = $1",
    [jobId],
  );
  return { items, ledger, job: job[0] as { tenant_id: string; status: string; settled: boolean } };
}

const counts = async () =>
  (
    await query<{ tenants: number; jobs: number }>(
      "select (select count(*) from tenants)::int as tenants, (select count(*) from jobs)::int as jobs",
    )
  ).rows[0];

let server: LocalHttpServer;
let baseUrl: string;

beforeAll(async () => {
  const invoker = new Invoker(createHandlerLoader(), { app: "aos", stage: config().stage, region: "us-east-1" });
  server = createHttpServer({ routes, invoker });
  baseUrl = `http://127.0.0.1:${((await server.listen(0, "127.0.0.1")) as AddressInfo).port}`;
});

afterAll(async () => {
  server?.stopAccepting();
  await server?.close();
});

// Each case starts `aos` (tsx) and runs hundreds of items on a shared 2-core machine.
describe("aos load-test", { timeout: 120_000 }, () => {
  it("in-process: 200 items x 20 workers pass every check, and the tables agree", async () => {
    const r = await loadTest(["--in-process", "--items", "200", "--workers", "20", "--timeout", "100", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    // --json: one JSON line on stdout, the report on stderr.
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const s = JSON.parse(lines[0] as string);
    expect(s).toMatchObject({ ok: true, mode: "in-process", items: 200, workers: 20, errors: 0 });
    expect(Object.values(s.checks)).toEqual([true, true, true, true, true]);
    expect(s.items_per_s).toBeGreaterThan(0);
    expect(s.claim_ms.n).toBeGreaterThanOrEqual(200);
    expect(s.complete_ms).toMatchObject({ n: 200 });
    expect(s.complete_ms.p50).toBeLessThanOrEqual(s.complete_ms.p99);
    expect(r.stderr.match(/^PASS {2}/gm)).toHaveLength(5);
    expect(r.stderr).not.toContain("FAIL");
    expect(r.stderr).toMatch(/throughput: [\d.]+ items\/s/);
    expect(r.stderr).toMatch(/claim latency ms: +p50 [\d.]+ +p95 [\d.]+ +p99 [\d.]+/);

    const t = await tablesOf(s.job_id);
    expect(t.job).toMatchObject({ status: "completed", settled: true });
    expect(t.items).toEqual([{ status: "done", n: 200, workers: expect.any(Number), attempts: 1 }]);
    expect(t.items[0]?.workers).toBeGreaterThan(1);
    expect(t.ledger).toEqual([
      { kind: "charge", n: 200, items: 200, amount: "200.0000" },
      { kind: "reserve", n: 1, items: 0, amount: "200.0000" },
    ]);
    await assertCreditInvariants(t.job.tenant_id);
  });

  it("over HTTP with an admin key and claims of 5: passes, each claim completed in one call, charged once per item at the given cost", async () => {
    const t = await makeTenantWithKeys();
    const r = await loadTest([
      ...["--url", baseUrl, "--key", t.keys.admin.key],
      ...["--items", "120", "--workers", "12", "--batch", "5", "--credits-per-item", "0.5", "--timeout", "100"],
    ]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`AOS at ${baseUrl}`);
    expect(r.stdout.match(/^PASS {2}/gm)).toHaveLength(5);
    // Claims of several items are completed in one call each (POST /api/v1/items/complete).
    const calls = Number(/\((\d+) complete calls\)/.exec(r.stdout)?.[1]);
    expect(calls).toBeGreaterThanOrEqual(24);
    expect(calls).toBeLessThan(120);
    const jobId = /job ([0-9a-f-]{36}) spawned/.exec(r.stdout)?.[1] as string;
    const tables = await tablesOf(jobId);
    expect(tables.job).toMatchObject({ tenant_id: t.tenant.id, status: "completed", settled: true });
    expect(tables.ledger).toContainEqual({ kind: "charge", n: 120, items: 120, amount: "60.0000" });
    await assertCreditInvariants(t.tenant.id);
  });

  it("a run that cannot finish in time fails the deadlock check, exits 1 and refunds what was never claimed", async () => {
    const r = await loadTest(["--in-process", "--items", "3000", "--workers", "1", "--timeout", "1"]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^FAIL {2}no deadlock: still running at the 1 s timeout; job cancelled/m);
    expect(r.stdout).toMatch(/^FAIL {2}none lost/m);
    const jobId = /job ([0-9a-f-]{36}) spawned/.exec(r.stdout)?.[1] as string;
    const t = await tablesOf(jobId);
    expect(t.job.status).toBe("cancelled");
    const refund = t.ledger.find((l) => l.kind === "refund");
    const cancelled = t.items.find((i) => i.status === "cancelled")?.n ?? 0;
    expect(cancelled).toBeGreaterThan(0);
    expect(Number(refund?.amount)).toBe(cancelled);
    await assertCreditInvariants(t.job.tenant_id);
  });

  it("refuses bad flags with exit 2 and writes nothing", async () => {
    const before = await counts();
    const bad = await loadTest([
      ...["--in-process", "--url", "http://x.example", "--items", "0", "--workers", "many"],
      ...["--credits-per-item", "0.00001", "--batch", "101", "--timeout", "1.5"],
    ]);
    expect(bad.code).toBe(2);
    for (const m of [
      "--items: a whole number from 1 to 10000",
      "--workers: a whole number from 1 to 1000",
      "--credits-per-item: a number with at most 4 decimals",
      "--batch: a whole number from 1 to 100",
      "--timeout: a whole number from 1 to 86400",
      "--in-process runs through core on DATABASE_URL: --url and --key do not apply",
    ]) {
      expect(bad.stderr).toContain(m);
    }
    const unknown = await loadTest(["--in-process", "--bogus"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--bogus'");
    expect(await counts()).toEqual(before);
  });

  it("the claim check fails when an item is held by two workers at once or completed twice", () => {
    type Outcome = "done" | "lease_lost" | "error";
    const a = (item: string, worker: string, from: number, to: number, outcome: Outcome = "done") => ({
      item,
      worker,
      from,
      to,
      outcome,
    });
    // Taken over after a lost lease, then done: fine.
    const fine = [a("i1", "w1", 0, 30, "lease_lost"), a("i1", "w2", 31, 40), a("i2", "w1", 0, 5)];
    expect(claimCheck(fine)).toMatchObject({ ok: true, detail: expect.stringContaining("1 leases lost") });
    // w2 got i1 while w1 surely still held it.
    expect(claimCheck([a("i1", "w1", 0, 10), a("i1", "w2", 5, 12)])).toMatchObject({
      ok: false,
      detail: expect.stringContaining("1 overlapping, 1 completed twice"),
    });
    // Claimed again after it was done, even without overlap.
    expect(claimCheck([a("i1", "w1", 0, 10), a("i1", "w2", 11, 12)]).ok).toBe(false);
  });

  it("exits 1 naming the address when no AOS answers", async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((ok) => probe.listen(0, "127.0.0.1", ok));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((ok) => probe.close(ok));
    const r = await loadTest(["--url", `http://127.0.0.1:${port}`, "--key", "aos_x", "--items", "10"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach AOS at http://127.0.0.1:${port}`);
  });
});
