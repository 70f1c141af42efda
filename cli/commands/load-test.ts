/**
 * `aos load-test`: N items, W concurrent workers, against a running AOS over HTTP (AOS_URL /
 * AOS_KEY, or --url / --key) or in-process through core (--in-process, on DATABASE_URL, which
 * must be migrated: `aos migrate up`; it acts as the agent key of a tenant `load-test-<hex>` it
 * creates and leaves in place).
 *
 * It grants the run's credits (HTTP: needs an admin key, else the tenant's own credits are
 * used), spawns an `external` job of N items, and runs W workers, each looping: claim up to
 * --batch items with a lease, complete them (one call per batch: POST /api/v1/items/complete),
 * until nothing is left or --timeout. Then it checks,
 * each printed PASS or FAIL:
 * - no item was held by two workers at once: per claim it records [claim answered, complete
 *   sent] (the worker surely held the lease in between), and no two such intervals of an item
 *   may overlap, nor an item be completed twice;
 * - none lost: every item done, by the run and by the job's counts;
 * - credits exact: the job settled; reserved = N x cost = charged, reserved = charged + released
 *   + refunded; the tenant's balance fell by exactly the charge (over HTTP the key's tenant
 *   should run nothing else meanwhile); one charge row per item;
 * - no deadlock: everything finished and settled before --timeout;
 * - no request failed (other than a lost lease, which the first check accounts for).
 * It prints throughput and claim / complete latency p50/p95/p99; --json prints one JSON line on
 * stdout instead (the report then goes to stderr). On timeout the job is cancelled, so its
 * unclaimed items' credits are refunded.
 *
 * Exit codes: 0 every check passed; 1 a check failed or AOS refused; 2 bad flags (nothing sent).
 */
import { randomBytes } from "node:crypto";
import type { ClaimReply, JobRecord } from "../../core/jobs/index.ts";
import type { CommandSpec } from "../main.ts";
import { type Attempt, type Check, claimCheck, pause, summary, units } from "./load-test-checks.ts";
import { ApiError, type Balance, CliError, type Driver, httpDriver, inProcessDriver } from "./load-test-drivers.ts";
import { type Plan, plan } from "./load-test-plan.ts";

async function loadTest(p: Plan, say: (line: string) => void): Promise<{ code: number; json: object }> {
  const started = performance.now();
  const deadline = started + p.timeoutS * 1000;
  const d: Driver = p.inProcess ? await inProcessDriver(p.workers) : httpDriver(p.url, p.key);
  try {
    // In ten-thousandths first: 3 x 0.1 is not 0.3 in floating point, and the API wants 4 decimals.
    const charge = units(p.items * p.cost) / 10_000;
    say(
      `load test: ${p.items} items x ${p.workers} workers, batch ${p.batch}, lease ${p.leaseS} s, ${p.cost} credit(s) per item, timeout ${p.timeoutS} s; ${d.target}`,
    );
    for (const note of await d.prepare(charge)) say(note);
    const before = await d.balance();
    const spawnAt = performance.now();
    const job = await d.spawn({
      task: "external",
      items: Array.from({ length: p.items }, (_, n) => ({ input: { n } })),
      credits_per_item: p.cost,
      // Parallelism must not be what limits the run: every worker may hold a full batch.
      parallelism: Math.min(1000, p.workers * p.batch),
    });
    say(`job ${job.id} spawned in ${(performance.now() - spawnAt).toFixed(0)} ms`);

    const claimMs: number[] = [];
    const completeMs: number[] = [];
    const attempts: Attempt[] = [];
    const errors = new Map<string, number>();
    let errorCount = 0;
    let gaveUp = false;
    let done = 0;
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), Math.max(0, deadline - performance.now()));
    const failed = (e: unknown) => {
      const key = e instanceof ApiError ? e.message.slice(0, 160) : String((e as Error)?.message ?? e).slice(0, 160);
      errors.set(key, (errors.get(key) ?? 0) + 1);
      // AOS gone or refusing everything: stop, rather than spin until the timeout.
      if (++errorCount > Math.max(100, p.items / 10) && !stop.signal.aborted) {
        gaveUp = true;
        stop.abort();
      }
    };
    const lease = p.leaseS * 1000;
    const run = randomBytes(3).toString("hex");

    async function worker(id: string): Promise<void> {
      while (!stop.signal.aborted) {
        const a = performance.now();
        let reply: ClaimReply;
        try {
          reply = await d.claim(job.id, { worker_id: id, max_items: p.batch, lease_s: p.leaseS });
        } catch (e) {
          // Finalised by the last completion: nothing left to claim.
          if (e instanceof ApiError && e.code === "jobs.not_running") return;
          failed(e);
          await pause(100);
          continue;
        }
        const b = performance.now();
        claimMs.push(b - a);
        if (!reply.items.length) {
          if (done >= p.items) return;
          try {
            const j = await d.job(job.id);
            if (j.counts.pending + j.counts.claimed === 0) return;
          } catch (e) {
            failed(e);
          }
          await pause(100);
          continue;
        }
        // One call for the claim's items: the single route for one, the batch route for more.
        if (stop.signal.aborted) return;
        const group = reply.items;
        const first = group[0]?.id as string;
        const c = performance.now();
        let out: Map<string, Attempt["outcome"]>;
        try {
          const result = { worker: id };
          out =
            group.length > 1
              ? await d.completeMany({ worker_id: id, items: group.map((it) => ({ id: it.id, result })) })
              : new Map([[first, await d.complete(first, { worker_id: id, result })]]);
          completeMs.push(performance.now() - c);
        } catch (e) {
          failed(e);
          out = new Map();
        }
        for (const it of group) {
          const outcome = out.get(it.id) ?? "error";
          // A completed item was held until its complete was sent; a lost one at least until
          // its lease could have run out, counted from the claim's request.
          attempts.push({
            item: it.id,
            worker: id,
            from: b,
            to: outcome === "done" ? c : Math.min(c, a + lease),
            outcome,
          });
          if (outcome === "done") done++;
        }
      }
    }

    const runAt = performance.now();
    const workers = Promise.all(Array.from({ length: p.workers }, (_, i) => worker(`load-test-${run}-${i}`)));
    // A call that hangs (a deadlock) must not hang the report: the deadline wins.
    const onTime = await Promise.race([
      workers.then(() => true),
      new Promise<false>((r) => stop.signal.addEventListener("abort", () => r(false), { once: true })),
    ]);
    const runS = (performance.now() - runAt) / 1000;
    clearTimeout(timer);
    stop.abort();
    // Calls in flight at the timeout may still answer; a short grace, then the job is read.
    if (!onTime) await Promise.race([workers, pause(2000)]);

    let final: JobRecord = await d.job(job.id);
    while (onTime && !final.settled_at && performance.now() < deadline) {
      await pause(100);
      final = await d.job(job.id);
    }
    const settledInTime = final.settled_at !== null && performance.now() <= deadline;
    if (!onTime || final.status === "running") {
      // Whatever was not claimed goes back to the tenant.
      await d.cancel(job.id).catch((e: Error) => say(`cancel of job ${job.id} failed: ${e.message}`));
      final = await d.job(job.id);
    }
    const after: Balance = await d.balance();
    const charged = await d.chargedItems(job.id);

    const doneItems = new Set(attempts.filter((a) => a.outcome === "done").map((a) => a.item));
    const c = final.credits;
    const checks: Check[] = [
      claimCheck(attempts),
      {
        name: "none lost",
        ok: final.counts.done === p.items && doneItems.size === p.items,
        detail: `${doneItems.size}/${p.items} completed by the workers; job counts ${JSON.stringify(final.counts)}`,
      },
      {
        name: "credits exact",
        ok:
          final.settled_at !== null &&
          units(c.reserved) === units(charge) &&
          units(c.charged) === units(charge) &&
          units(c.reserved) === units(c.charged) + units(c.released) + units(c.refunded) &&
          units(before.balance) - units(after.balance) === units(c.charged) &&
          charged.length === p.items &&
          new Set(charged).size === p.items &&
          charged.every((id) => doneItems.has(id)),
        detail:
          `job ${final.settled_at ? "settled" : "NOT settled"}: reserved ${c.reserved} = charged ${c.charged} + released ${c.released} + refunded ${c.refunded} (expected ${charge} charged); ` +
          `balance ${before.balance} -> ${after.balance}; ${charged.length} items charged, ${new Set(charged).size} distinct`,
      },
      {
        name: "no deadlock",
        ok: onTime && settledInTime,
        detail: onTime
          ? `workers done in ${runS.toFixed(2)} s, job ${settledInTime ? "settled" : "not settled"} within the ${p.timeoutS} s timeout`
          : gaveUp
            ? `gave up after ${errorCount} failed requests; job cancelled`
            : `still running at the ${p.timeoutS} s timeout; job cancelled`,
      },
      {
        name: "no request failed",
        ok: errorCount === 0,
        detail: errorCount ? [...errors].map(([m, n]) => `${n} x ${m}`).join("; ") : "0 errors",
      },
    ];
    for (const k of checks) say(`${k.ok ? "PASS" : "FAIL"}  ${k.name}: ${k.detail}`);
    const claim = summary(claimMs);
    const complete = summary(completeMs);
    const rate = done / runS;
    say(`throughput: ${rate.toFixed(1)} items/s (${done} items in ${runS.toFixed(2)} s)`);
    say(`claim latency ms:    p50 ${claim.p50}  p95 ${claim.p95}  p99 ${claim.p99}  (${claim.n} claims)`);
    say(
      `complete latency ms: p50 ${complete.p50}  p95 ${complete.p95}  p99 ${complete.p99}  (${complete.n} complete calls)`,
    );
    const ok = checks.every((k) => k.ok);
    return {
      code: ok ? 0 : 1,
      json: {
        ok,
        mode: p.inProcess ? "in-process" : "http",
        job_id: job.id,
        items: p.items,
        workers: p.workers,
        batch: p.batch,
        seconds: Math.round(runS * 1000) / 1000,
        items_per_s: Math.round(rate * 10) / 10,
        claim_ms: claim,
        complete_ms: complete,
        checks: Object.fromEntries(checks.map((k) => [k.name.replaceAll(" ", "_"), k.ok])),
        credits: { ...c, balance_before: before.balance, balance_after: after.balance },
        errors: errorCount,
      },
    };
  } finally {
    await d.close();
  }
}

export const commands: CommandSpec[] = [
  {
    name: "load-test",
    usage:
      "load-test [--items 1000] [--workers 50] [--timeout 300] [--url URL --key KEY | --in-process] [--credits-per-item 1] [--lease-s 30] [--batch 1] [--json]",
    summary:
      "Spawn an external job of N items and work it with W concurrent workers: checks no double claim, none lost, exact credits, no deadlock; prints throughput and latencies",
    options: {
      items: { type: "string", description: "items in the job (at most 10000)", default: "1000" },
      workers: { type: "string", description: "concurrent workers", default: "50" },
      timeout: { type: "string", description: "seconds before the run counts as deadlocked", default: "300" },
      url: { type: "string", description: "AOS to test (default: AOS_URL)" },
      key: { type: "string", description: "API key, admin to grant the credits (default: AOS_KEY)" },
      "in-process": { type: "boolean", description: "run through core on DATABASE_URL (migrated) instead of HTTP" },
      "credits-per-item": { type: "string", description: "each item's cost", default: "1" },
      "lease-s": { type: "string", description: "lease of each claim, seconds", default: "30" },
      batch: { type: "string", description: "max_items of each claim", default: "1" },
      json: { type: "boolean", description: "one JSON line on stdout (the report goes to stderr)" },
    },
    run: async ({ values }) => {
      try {
        const p = plan(values);
        const say = (line: string) => (p.json ? console.error(line) : console.log(line));
        const r = await loadTest(p, say);
        if (p.json) console.log(JSON.stringify(r.json));
        return r.code;
      } catch (e) {
        const lines = e instanceof CliError ? e.lines : e instanceof ApiError ? [e.message] : undefined;
        if (!lines) throw e;
        for (const l of lines) console.error(`aos load-test: ${l}`);
        return e instanceof CliError ? e.exitCode : 1;
      }
    },
  },
];
