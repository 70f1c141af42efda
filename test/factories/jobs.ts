/**
 * Jobs for tests below HTTP: a tenant with a key and credits (`Who`), `asKey` to call core as
 * that key, and `spawnBody` for a spawn with defaults. `checkedTenants()` registers, once per file, an afterEach that asserts the credits
 * invariants of every tenant it handed out.
 */
import { randomUUID } from "node:crypto";
import type { SQSRecord } from "aws-lambda";
import { afterEach } from "vitest";
import { type Role, withContext } from "../../core/context.ts";
import type { JobSpawn } from "../../core/jobs/index.ts";
import { query } from "../../core/platform/db/index.ts";
import * as Skills from "../../core/skills/index.ts";
import { handler as itemsHandler } from "../../functions/queue/job-items.ts";
import { lambdaContext, sqsEvent } from "../events/index.ts";
import { assertCreditInvariants, grantCredits } from "./credits.ts";
import { makeKey, makeTenant, makeTenantWithKeys } from "./tenancy.ts";

export interface Who {
  tenantId: string;
  keyId: string;
}

/** A new tenant with a key of `role` and `credits` granted (none when 0). */
export async function jobsTenant(credits: number, role: Role = "agent"): Promise<Who> {
  const t = await makeTenant();
  const k = await makeKey({ tenantId: t.id, role });
  if (credits > 0) await grantCredits(t.id, credits);
  return { tenantId: t.id, keyId: k.id };
}

/** Run `fn` in core as `w`'s key (role `role`), as a request would. */
export const asKey = <T>(w: Who, fn: () => Promise<T>, role: Role = "agent") =>
  withContext(
    {
      requestId: randomUUID(),
      correlationId: "jobs-test",
      actor: { type: "key", keyId: w.keyId, tenantId: w.tenantId, role },
    },
    fn,
  );

/**
 * Call once at a test file's top level: returns `tenant(credits)`, a `jobsTenant` whose credits
 * invariants are asserted after the test that made it.
 */
export function checkedTenants(): (credits: number) => Promise<Who> {
  const made: string[] = [];
  afterEach(async () => {
    for (const t of made.splice(0)) await assertCreditInvariants(t);
  });
  return async (credits) => {
    const w = await jobsTenant(credits);
    made.push(w.tenantId);
    return w;
  };
}

/**
 * `checkedTenants` for tests that go through HTTP: returns `tenant(credits = 100)`, a tenant with
 * its keys (`makeTenantWithKeys`) and `credits` granted, whose credits invariants are asserted
 * after the test that made it.
 */
export function checkedKeyedTenants(): (credits?: number) => ReturnType<typeof makeTenantWithKeys> {
  const made: string[] = [];
  afterEach(async () => {
    for (const t of made.splice(0)) await assertCreditInvariants(t);
  });
  return async (credits = 100) => {
    const t = await makeTenantWithKeys();
    await grantCredits(t.tenant.id, credits);
    made.push(t.tenant.id);
    return t;
  };
}

/** A spawn body: `n` external items (inputs `{n: i}` unless `input` says otherwise), 1 credit each, defaults else. */
export function spawnBody(over: Partial<JobSpawn> & { n?: number; input?: (i: number) => unknown } = {}): JobSpawn {
  const { n = 3, input = (i: number) => ({ n: i }), ...rest } = over;
  return {
    task: "external",
    items: Array.from({ length: n }, (_, i) => ({ input: input(i) })),
    parallelism: 10,
    credits_per_item: 1,
    max_attempts: 3,
    item_timeout_s: 60,
    ...rest,
  };
}

/** A job's status and whether it is settled, read from its row. */
export const jobStatus = async (jobId: string) =>
  (
    await query<{ status: string; settled: boolean }>(
      "select status, settled_at is not null as settled from jobs where id = $1",
      [jobId],
    )
  ).rows[0];

/** The JobItems worker over `messages`, ten per batch as routes.ts configures it; the records to retry. */
export async function workItems(messages: readonly unknown[], overrides: Partial<SQSRecord> = {}): Promise<string[]> {
  const failures: string[] = [];
  for (let i = 0; i < messages.length; i += 10) {
    const r = await itemsHandler(sqsEvent(messages.slice(i, i + 10) as unknown[], overrides), lambdaContext());
    failures.push(...r.batchItemFailures.map((f) => f.itemIdentifier));
  }
  return failures;
}

/** A kv_store counter of the tenant, read the way a skill reads it (the items' side effect in tests). */
export const kvCounter = (tenantId: string, key: string) =>
  withContext(
    { requestId: randomUUID(), correlationId: "read", actor: { type: "system", name: "test", tenantId } },
    async () => ((await Skills.execute("kv_store", { op: "get", key })).result as { value?: unknown }).value,
  );
