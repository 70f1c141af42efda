/**
 * Scenarios of AOS's own code: kv_store refusals and Redis unreachable, skills called with bad
 * args or unknown names, Postgres unreachable or timing out (through the platform's pool and its
 * error mapping), and core functions called wrongly, so that AppErrors of each kind are thrown
 * (not found, unauthorized, forbidden, conflict, insufficient credits, validation, internal).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { config } from "../../core/config.ts";
import * as Credits from "../../core/credits/index.ts";
import * as Failures from "../../core/failures/index.ts";
import * as Jobs from "../../core/jobs/index.ts";
import { coerceError, createPool, query, withTx } from "../../core/platform/db/index.ts";
import * as Skills from "../../core/skills/index.ts";
import * as Tenancy from "../../core/tenancy/index.ts";
import { callSkill, pick, provoke, type Scenario, type ScenarioRun } from "./scenario.ts";

const kv = (x: ScenarioRun, args: Record<string, unknown>, recorded = true) => callSkill(x, "kv_store", args, recorded);
const key = (x: ScenarioRun) => `aos-generate:${x.runId}`;

/** Postgres through AOS's own pool and error mapping, at `url`. */
async function pgAt(url: string): Promise<void> {
  const pool = await createPool({ url, driver: "pg", max: 1, statementTimeoutMs: 0, connectTimeoutMs: 2_000 });
  try {
    await pool.query("select 1", []);
  } catch (e) {
    throw coerceError(e);
  } finally {
    await pool.end().catch(() => undefined);
  }
}

const otherDatabase = (x: ScenarioRun): string => {
  const u = new URL(config().databaseUrl);
  u.hostname = "127.0.0.1";
  u.port = String(x.servers.closedPort);
  return u.toString();
};

export const coreScenarios: readonly Scenario[] = [
  // ---- kv_store: refusals of the skill itself ----
  {
    name: "kv.value_too_large",
    label: "validation.too_large",
    run: (x) => kv(x, { op: "set", key: key(x), value: "x".repeat(config().skills.kv.maxValueBytes + 1 + x.n) }),
  },
  {
    name: "kv.incr_not_integer",
    label: "validation.kv_rejected",
    async run(x) {
      await Skills.execute(
        "kv_store",
        { op: "set", key: key(x), value: pick(["text", 1.5, { a: 1 }], x.n), ttl_s: 60 },
        { charge: false },
      );
      return kv(x, { op: "incr", key: key(x) });
    },
  },
  {
    name: "kv.ttl_too_long",
    label: "validation.kv_rejected",
    run: (x) => kv(x, { op: "set", key: key(x), value: 1, ttl_s: config().skills.kv.maxTtlS + 1 + x.n }),
  },
  {
    // A client pointed at a closed port: what kv_store meets when Redis is down.
    name: "kv.redis_down",
    label: "infra.redis_unavailable",
    swapsClients: true,
    env: (s) => ({ REDIS_URL: `redis://127.0.0.1:${s.closedPort}`, REDIS_COMMAND_TIMEOUT_MS: "300" }),
    run: (x) =>
      kv(
        x,
        pick(
          [
            { op: "get", key: key(x) },
            { op: "incr", key: key(x) },
          ],
          x.n,
        ),
      ),
  },
  // ---- skills called wrongly: refused before they run (execute does not record these) ----
  {
    name: "skills.bad_args",
    label: "validation.invalid_input",
    run: (x) =>
      pick(
        [
          () => kv(x, { op: "nope", key: "k" }, false),
          () => callSkill(x, "slack_send", { text: "" }, false),
          () => callSkill(x, "webhook_send", { url: "ftp://example.com/x", payload: 1 }, false),
          () => callSkill(x, "voyage_embed", { input: [] }, false),
          () => kv(x, { op: "get", key: "k", extra: true }, false),
        ],
        x.n,
      )(),
  },
  {
    name: "skills.unknown",
    label: "validation.unknown_name",
    run: (x) => callSkill(x, pick(["send_fax", "kv_stor", "slack"], x.n), {}, false),
  },
  {
    name: "jobs.unknown_task",
    label: "validation.unknown_name",
    run: (x) => provoke(() => Jobs.spawn({ ...spawnBody(), task: `no_such_task_${x.n}` })),
  },
  // ---- Postgres ----
  {
    name: "postgres.down",
    label: "infra.postgres_unavailable",
    run: (x) => provoke(() => pgAt(otherDatabase(x))),
  },
  {
    name: "postgres.statement_timeout",
    label: "capacity.db_timeout",
    run: () =>
      provoke(() =>
        withTx(async () => {
          await query("set local statement_timeout = 20");
          await query("select pg_sleep(0.5)");
        }),
      ),
  },
  {
    name: "postgres.bad_uuid",
    label: "validation.db_value",
    run: (x) => provoke(() => query("select id from jobs where id = CAST($1 AS uuid)", [`job-${x.n}`])),
  },
  // ---- core functions called wrongly: AppErrors of each kind ----
  {
    name: "core.not_found",
    label: "data.not_found",
    run: (x) => provoke(() => pick([() => Jobs.get(randomUUID()), () => Failures.get(randomUUID())], x.n)()),
  },
  {
    name: "core.invalid_key",
    label: "auth.invalid_key",
    run: (x) =>
      provoke(() =>
        Tenancy.authenticate(pick([`aos_${randomBytes(24).toString("base64url").slice(0, 32)}`, "not-a-key"], x.n)),
      ),
  },
  {
    name: "core.cross_tenant",
    label: "auth.forbidden",
    run: (x) => provoke(() => Failures.list({ ...listQuery(), tenant: randomUUID() }).then(() => x)),
  },
  {
    name: "core.tenant_exists",
    label: "data.conflict",
    async run(x) {
      const { slug } = await Tenancy.findTenant(x.tenantId).then((t) => t ?? { slug: "missing" });
      return provoke(() => Tenancy.createTenant({ slug, name: slug, initial_key_role: "none" }));
    },
  },
  {
    name: "core.insufficient_credits",
    label: "capacity.insufficient_credits",
    run: (x) =>
      provoke(() =>
        Credits.hold(
          x.tenantId,
          1_000_000_000 + x.n,
          "aos failures generate",
          new Date(Date.now() + 60_000),
          "skill_execute",
        ),
      ),
  },
  {
    // Skills.execute refuses to run inside a transaction: a bug of its caller, an internal error.
    name: "core.skill_in_transaction",
    label: "internal.unexpected",
    run: () => provoke(() => withTx(() => Skills.execute("kv_store", { op: "get", key: "k" }))),
  },
];

const spawnBody = () => ({
  task: "external",
  items: [{ input: {} }],
  parallelism: 1,
  credits_per_item: 1,
  max_attempts: 1,
  item_timeout_s: 60,
});

const listQuery = () => ({ status: "all" as const, since_hours: 24, limit: 1 });
