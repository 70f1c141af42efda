/**
 * The two ways `aos load-test` reaches AOS, behind one interface: over HTTP as any agent would
 * (AOS_URL / AOS_KEY, or --url / --key), or in-process through core (`Jobs.*`, `Credits.*`) on the
 * configured DATABASE_URL, as a key of a tenant it creates for the run.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { config, setConfig } from "../../core/config.ts";
import { type Actor, withContext } from "../../core/context.ts";
import * as Credits from "../../core/credits/index.ts";
import { type CreditsReply, entryItemIds, type LedgerEntry } from "../../core/credits/index.ts";
import { AppError } from "../../core/errors.ts";
import * as Jobs from "../../core/jobs/index.ts";
import {
  type ClaimBody,
  type ClaimReply,
  type CompleteBody,
  type CompleteManyBody,
  type CompleteManyReply,
  type JobRecord,
  JobSpawn,
} from "../../core/jobs/index.ts";
import { closePool, pool } from "../../core/platform/db/index.ts";
import { Migrator } from "../../core/platform/db/migrator.ts";
import { setLogSink } from "../../core/platform/logger.ts";
import { closeRedis } from "../../core/platform/redis.ts";
import * as Tenancy from "../../core/tenancy/index.ts";
import { AosUnreachableError, requestAos } from "../http.ts";

/** An outcome with its exit code; `lines` go to stderr. */
export class CliError extends Error {
  constructor(
    readonly lines: string[],
    readonly exitCode = 1,
  ) {
    super(lines.join("\n"));
  }
}

/** A refusal of the API (or of core, in-process), with its dotted code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export type Balance = Pick<CreditsReply, "balance" | "reserved" | "available">;

/** A batch completion's outcome per item: a refusal other than a lost lease is an error. */
function outcomes(r: CompleteManyReply): Map<string, "done" | "lease_lost"> {
  const m = new Map<string, "done" | "lease_lost">(r.completed.map((i) => [i.id, "done"]));
  for (const x of r.refused) {
    if (x.error.code !== "jobs.lease_lost") throw new ApiError(404, x.error.code, x.error.message);
    m.set(x.id, "lease_lost");
  }
  return m;
}

export interface Driver {
  /** Where the run goes, for the report (no secrets). */
  readonly target: string;
  /** Grant the run's credits; returns notes to print (e.g. why no grant was made). */
  prepare(amount: number): Promise<string[]>;
  balance(): Promise<Balance>;
  spawn(body: {
    task: string;
    items: { input: unknown }[];
    credits_per_item: number;
    parallelism: number;
  }): Promise<JobRecord>;
  claim(jobId: string, body: ClaimBody): Promise<ClaimReply>;
  /** `lease_lost` when AOS refuses with 409 jobs.lease_lost; any other refusal throws. */
  complete(itemId: string, body: CompleteBody): Promise<"done" | "lease_lost">;
  /** Several items in one call (POST /api/v1/items/complete); each item's outcome by id. */
  completeMany(body: CompleteManyBody): Promise<Map<string, "done" | "lease_lost">>;
  job(jobId: string): Promise<JobRecord>;
  /** The item ids of the job's `charge` ledger rows, every page. */
  chargedItems(jobId: string): Promise<string[]>;
  cancel(jobId: string): Promise<void>;
  close(): Promise<void>;
}

const REASON = "aos load-test";

export function httpDriver(url: string, key: string | undefined): Driver {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await requestAos({ url, key }, method, path, body);
    } catch (e) {
      if (e instanceof AosUnreachableError) throw new ApiError(0, "network", e.message);
      throw e;
    }
    const text = await res.text();
    if (!res.ok) {
      let err: { code?: string; message?: string } | undefined;
      try {
        err = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
      } catch {}
      throw new ApiError(res.status, err?.code ?? `http_${res.status}`, err?.message ?? text.slice(0, 200));
    }
    return JSON.parse(text) as T;
  }

  return {
    target: `AOS at ${url}`,
    async prepare(amount) {
      if (amount <= 0) return [];
      try {
        await call("POST", "/api/v1/credits/grants", { amount, reason: REASON });
        return [`granted ${amount} credits to the key's tenant`];
      } catch (e) {
        // Not an admin key: the run uses what the tenant has (spawn answers 402 when short).
        if (e instanceof ApiError && e.status === 403)
          return [`no grant (${e.code}: not an admin key); using the tenant's credits`];
        throw e;
      }
    },
    balance: () => call<Balance>("GET", "/api/v1/credits"),
    spawn: (body) => call<JobRecord>("POST", "/api/v1/jobs", body),
    claim: (jobId, body) => call<ClaimReply>("POST", `/api/v1/jobs/${jobId}/claim`, body),
    async complete(itemId, body) {
      try {
        await call("POST", `/api/v1/items/${itemId}/complete`, body);
        return "done";
      } catch (e) {
        if (e instanceof ApiError && e.code === "jobs.lease_lost") return "lease_lost";
        throw e;
      }
    },
    completeMany: async (body) => outcomes(await call<CompleteManyReply>("POST", "/api/v1/items/complete", body)),
    job: (jobId) => call<JobRecord>("GET", `/api/v1/jobs/${jobId}`),
    async chargedItems(jobId) {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const q = new URLSearchParams({ job_id: jobId, kind: "charge", limit: "1000", ...(cursor ? { cursor } : {}) });
        const page: { data: Pick<LedgerEntry, "item_id" | "item_ids">[]; next_cursor: string | null } = await call(
          "GET",
          `/api/v1/credits/ledger?${q}`,
        );
        for (const r of page.data) ids.push(...entryItemIds(r));
        cursor = page.next_cursor;
      } while (cursor);
      return ids;
    },
    cancel: async (jobId) => {
      await call("POST", `/api/v1/jobs/${jobId}/cancel`, { reason: `${REASON}: timed out` });
    },
    close: async () => {},
  };
}

const migrationsDir = fileURLToPath(new URL("../../migrations", import.meta.url));

/** Core's refusals as the API would give them. */
const asApiError = (e: unknown): unknown => (e instanceof AppError ? new ApiError(e.status, e.code, e.message) : e);

/**
 * In-process: the configured database, which must be migrated already (`aos migrate up`; the
 * load test does not change a schema behind anyone's back). It creates a tenant
 * `load-test-<hex>` with an agent key, grants it the run's credits as the `cli` system actor,
 * and makes every call as that key. The tenant and its job stay, like any other.
 */
export async function inProcessDriver(workers: number): Promise<Driver> {
  // A connection per worker and a few spare, so workers never queue inside the pool (that
  // would measure the pool); set before the pool is first made.
  if (config().dbPoolMax < workers + 5) setConfig({ DB_POOL_MAX: String(workers + 5) });
  // Core logs to stdout; stdout is the report's (and --json's), so logs go to stderr.
  setLogSink((line) => process.stderr.write(`${line}\n`));
  const db = new URL(config().databaseUrl);
  const where = `database ${db.pathname.slice(1)} on ${db.host}`;
  const status = await new Migrator(await pool(), migrationsDir, () => {}).status();
  const pending = status.filter((m) => m.state === "pending");
  if (pending.length) {
    throw new CliError([`${where} has ${pending.length} pending migration(s): run \`aos migrate up\` first`]);
  }
  const as = <T>(actor: Actor, fn: () => Promise<T>): Promise<T> => {
    const id = randomUUID();
    return withContext({ requestId: id, correlationId: id, actor }, async () => {
      try {
        return await fn();
      } catch (e) {
        throw asApiError(e);
      }
    });
  };
  const system = { type: "system", name: "cli" } as const;
  const t = await as(system, () =>
    Tenancy.createTenant({
      slug: `load-test-${randomBytes(4).toString("hex")}`,
      name: "aos load-test",
      initial_key_role: "agent",
    }),
  );
  if (!t.key) throw new Error("the tenant was created without its key");
  const agent: Actor = { type: "key", keyId: t.key.id, tenantId: t.id, role: "agent" };

  return {
    target: `in-process, ${where}, tenant ${t.slug}`,
    async prepare(amount) {
      if (amount <= 0) return [];
      await as({ ...system, tenantId: t.id }, () => Credits.grant({ tenant_id: t.id, amount, reason: REASON }));
      return [`granted ${amount} credits to tenant ${t.slug} (${t.id})`];
    },
    balance: () => as(agent, () => Credits.balance({})),
    spawn: (body) => as(agent, () => Jobs.spawn(JobSpawn.parse(body))),
    claim: (jobId, body) => as(agent, () => Jobs.claim(jobId, body)),
    async complete(itemId, body) {
      try {
        await as(agent, () => Jobs.complete(itemId, body));
        return "done";
      } catch (e) {
        if (e instanceof ApiError && e.code === "jobs.lease_lost") return "lease_lost";
        throw e;
      }
    },
    completeMany: async (body) => outcomes(await as(agent, () => Jobs.completeMany(body))),
    job: (jobId) => as(agent, () => Jobs.get(jobId)),
    async chargedItems(jobId) {
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await as(agent, () => Credits.ledger({ limit: 1000, cursor, kind: "charge", job_id: jobId }));
        for (const r of page.data) ids.push(...entryItemIds(r));
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      return ids;
    },
    cancel: async (jobId) => {
      await as(agent, () => Jobs.cancel(jobId, { reason: `${REASON}: timed out` }));
    },
    close: async () => {
      await closePool();
      await closeRedis();
    },
  };
}
