/**
 * `aos failures generate`, `aos failures backfill` and `aos failures aggregate`: operator tools of the failure catalog,
 * in-process on the configured DATABASE_URL and REDIS_URL (migrated: `aos migrate up`), as the
 * other verbs that write rows directly (`aos tenants`, `aos keys`, `aos load-test --in-process`).
 * docs/runbooks/failure-catalog.md ("Operator tools") says when to use each.
 */
import { writeFileSync } from "node:fs";
import { asSystem } from "../context.ts";
import type { CorpusLine } from "../failure-generator/generate.ts";
import { positiveInt, UsageError } from "../failures.ts";
import type { CommandSpec } from "../main.ts";

/** Loaded when a command runs, not for `aos --help`: the generator pulls in skills, jobs and credits. */
const load = async () => ({
  Failures: await import("../../core/failures/index.ts"),
  Tenancy: await import("../../core/tenancy/index.ts"),
  ...(await import("../failure-generator/generate.ts")),
  ...(await import("../failure-generator/score.ts")),
});

/** What --validate demands of the matcher (issue 15, "Matching quality"). */
const MIN_PRECISION = 0.95;

export const commands: CommandSpec[] = [
  {
    name: "failures generate",
    usage: "failures generate --tenant T [--count N] [--validate] [--seed S] [--out file.jsonl]",
    summary:
      "Provoke real failures (loopback servers answering 408/429/5xx, hangs, refused connections, DNS and TLS failures, Slack and Voyage bodies, bad inputs, Redis and Postgres unreachable, AppErrors of every kind), record each through Failures.record into the tenant's failure_matches, and with --validate print the matcher's precision and recall against the scenarios' labels",
    options: {
      tenant: { type: "string", description: "tenant (slug or id) whose failure_matches get the records" },
      count: { type: "string", description: "failures to provoke, scenarios taken in turn", default: "100" },
      validate: {
        type: "boolean",
        description: `print precision, recall, misses, cross-category matches and a per-category table; exit 1 below ${MIN_PRECISION * 100}% precision or on any cross-category match`,
      },
      seed: {
        type: "string",
        description:
          "where each scenario starts among its variants (statuses, bodies, hosts, values), and the batch's name (run ids generate:<seed>-<hex>:<n>)",
        default: "aos",
      },
      out: { type: "string", description: "write each failure as the matcher saw it, with its label, as JSON lines" },
    },
    run: ({ values }) => {
      if (typeof values.tenant !== "string") throw new UsageError("--tenant is required");
      const count = positiveInt(values.count, "--count", 100, 100_000);
      const seed = typeof values.seed === "string" ? values.seed : "aos";
      if (!/^[A-Za-z0-9_-]{1,40}$/.test(seed)) throw new UsageError("--seed: 1 to 40 letters, digits, - or _");
      return asSystem(async () => {
        const { Tenancy, generate, formatFigures } = await load();
        const tenantId = await Tenancy.resolveTenant(values.tenant as string);
        const lines: CorpusLine[] = [];
        const g = await generate({ count, seed, tenantId, onLine: (l) => lines.push(l) });
        if (typeof values.out === "string")
          writeFileSync(values.out, lines.map((l) => `${JSON.stringify(l)}\n`).join(""));
        console.log(
          `provoked ${g.lines.length} failures in ${(g.elapsedMs / 1000).toFixed(1)} s (batch ${g.batch}, run ids generate:${g.batch}:<n>, tenant ${values.tenant}); records in failure_matches: ${g.lines.length - g.notLanded}`,
        );
        if (g.notLanded) console.log(`not in failure_matches (queued or dropped by Failures.record): ${g.notLanded}`);
        for (const p of g.notProvoked) console.log(`NOT PROVOKED ${p.scenario}: ${p.reason}`);
        if (typeof values.out === "string") console.log(`wrote ${lines.length} lines to ${values.out}`);
        if (!values.validate) return g.notProvoked.length ? 1 : 0;
        for (const l of formatFigures(g.figures)) console.log(l);
        const ok =
          (g.figures.precision ?? 0) >= MIN_PRECISION && g.figures.crossCategory === 0 && !g.notProvoked.length;
        console.log(ok ? "PASS" : "FAIL");
        return ok ? 0 : 1;
      });
    },
  },
  {
    name: "failures backfill",
    usage: "failures backfill [--tenant T] [--since ISO] [--dry-run] [--batch N]",
    summary:
      "Match historical failures already in AOS (failed job items, queue_failures rows) against the catalog and write them to failure_matches; running it again adds nothing",
    options: {
      tenant: { type: "string", description: "only this tenant (slug or id); default every tenant" },
      since: { type: "string", description: "only failures at or after this time (ISO 8601)" },
      "dry-run": { type: "boolean", description: "match and count, write nothing" },
      batch: { type: "string", description: "source rows read and written per statement", default: "500" },
    },
    run: ({ values }) => {
      const batch = positiveInt(values.batch, "--batch", 500, 10_000);
      let since: Date | undefined;
      if (typeof values.since === "string") {
        since = new Date(values.since);
        if (!/^\d{4}-\d{2}-\d{2}/.test(values.since) || Number.isNaN(since.getTime()))
          throw new UsageError("--since must be an ISO 8601 time, e.g. 2026-01-31 or 2026-01-31T12:00:00Z");
      }
      return asSystem(async () => {
        const { Failures, Tenancy } = await load();
        const tenantId = typeof values.tenant === "string" ? await Tenancy.resolveTenant(values.tenant) : undefined;
        const dryRun = values["dry-run"] === true;
        const r = await Failures.backfill({ tenantId, since, dryRun, batchSize: batch });
        for (const s of r.sources)
          console.log(
            `${s.source.padEnd(14)} scanned ${s.scanned}, matched ${s.matched}, missed ${s.missed}, already there ${s.already}, ${dryRun ? "would write" : "written"} ${s.written}`,
          );
        console.log(
          `total: scanned ${r.scanned}, matched ${r.matched}, missed ${r.missed}, already there ${r.already}, ${dryRun ? "would write" : "written"} ${r.written}${dryRun ? " (dry run: nothing written)" : ""}`,
        );
        return 0;
      });
    },
  },
  {
    name: "failures aggregate",
    usage: "failures aggregate [--day YYYY-MM-DD]",
    summary:
      "Write one UTC day's failure counts per tenant (entries, categories, severities, top unmatched messages) to S3 as JSONL, as the daily FailureAggregation cron does; a rerun rewrites the same keys",
    options: {
      day: { type: "string", description: "the UTC day (default: yesterday)" },
    },
    run: ({ values }) =>
      asSystem(async () => {
        const { Failures } = await load();
        const r = await Failures.aggregateDay(typeof values.day === "string" ? values.day : undefined);
        for (const t of r.tenants)
          console.log(
            `${t.tenant_id}  ${t.change.padEnd(9)}  failures ${t.failures}, rows ${t.rows}  ${t.object_key}  ${t.sha256}`,
          );
        console.log(`${r.day}: ${r.tenants.length} tenant(s) written`);
        return 0;
      }),
  },
];
