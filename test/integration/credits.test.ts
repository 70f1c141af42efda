/**
 * The credits ledger below the HTTP layer: grants, reservations (and their race), per-item
 * charges and releases (idempotent, ledger rows only), refunds, settlement and the live figures,
 * and the ledger's append-only rule. Jobs are bare rows (test/factories/credits.ts); every
 * scenario ends with the ledger's invariants.
 */
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { type RequestContext, withContext } from "../../core/context.ts";
import * as Credits from "../../core/credits/index.ts";
import { InsufficientCreditsError } from "../../core/credits/index.ts";
import { AppError } from "../../core/errors.ts";
import { query, withTx } from "../../core/platform/db/index.ts";
import { assertCreditInvariants, grantCredits, insertBareJob } from "../factories/credits.ts";
import { makeKey, makeTenant } from "../factories/tenancy.ts";
import { asOwner } from "../setup/db-roles.ts";

const system: RequestContext = {
  requestId: "test",
  correlationId: "test",
  actor: { type: "system", name: "worker" },
};
const asSystem = <T>(fn: () => Promise<T>) => withContext(system, fn);

async function row(tenantId: string) {
  const { rows } = await query<{ balance: string; reserved: string }>(
    "select balance, reserved from credit_balances where tenant_id = $1",
    [tenantId],
  );
  return rows[0] ? { balance: Number(rows[0].balance), reserved: Number(rows[0].reserved) } : undefined;
}

async function ledgerRows(tenantId: string) {
  const { rows } = await query<{ kind: string; amount: string; idempotency_key: string; actor: string }>(
    "select kind, amount, idempotency_key, actor from credit_ledger where tenant_id = $1 order by id",
    [tenantId],
  );
  return rows.map((r) => ({ ...r, amount: Number(r.amount) }));
}

const live = (tenantId: string) => asSystem(() => Credits.balance({ tenant: tenantId }));

/** Finalisation as the jobs domain does it: job row locked, settled once, settled_at set. */
function settleJob(tenantId: string, jobId: string) {
  return asSystem(() =>
    withTx(async () => {
      await query("select id from jobs where id = $1 for update", [jobId]);
      const r = await Credits.settle(tenantId, jobId);
      await query("update jobs set settled_at = now(), finished_at = now(), status = 'completed' where id = $1", [
        jobId,
      ]);
      return r;
    }),
  );
}

const touched: string[] = [];
async function tenantWith(amount: number) {
  const t = await makeTenant();
  touched.push(t.id);
  if (amount > 0) await grantCredits(t.id, amount);
  return t.id;
}
afterEach(async () => {
  for (const id of touched.splice(0)) await assertCreditInvariants(id);
});

describe("grant", () => {
  it("creates the balance row, then adds to it, with one grant row each naming the actor", async () => {
    const t = await makeTenant();
    touched.push(t.id);
    const admin = await makeKey({ tenantId: t.id, role: "admin" });
    const adminCtx: RequestContext = {
      ...system,
      actor: { type: "key", keyId: admin.id, tenantId: t.id, role: "admin" },
    };
    const first = await withContext(adminCtx, () => Credits.grant({ amount: 100.5, reason: "first" }));
    expect(first).toEqual({ tenant_id: t.id, balance: 100.5, reserved: 0, available: 100.5 });
    const second = await grantCredits(t.slug as string, 0.25);
    expect(second).toEqual({ tenant_id: t.id, balance: 100.75, reserved: 0, available: 100.75 });
    expect(await row(t.id)).toEqual({ balance: 100.75, reserved: 0 });
    const rows = await ledgerRows(t.id);
    expect(rows.map((r) => [r.kind, r.amount, r.actor])).toEqual([
      ["grant", 100.5, `key:${admin.id}`],
      ["grant", 0.25, "system:test"],
    ]);
    expect(rows.every((r) => /^grant:[0-9a-f-]{36}$/.test(r.idempotency_key))).toBe(true);
  });

  it("refuses an unknown tenant and writes nothing", async () => {
    const count = async () =>
      (await query("select (select count(*) from credit_ledger) + (select count(*) from credit_balances) as n"))
        .rows[0];
    const before = await count();
    const err = await grantCredits(randomUUID(), 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(404);
    expect(await count()).toEqual(before);
  });
});

describe("reserve", () => {
  it("holds the amount on the row with one reserve row; 0 is a no-op", async () => {
    const t = await tenantWith(100);
    const { jobId } = await insertBareJob(t, { items: 3, creditsPerItem: 10 });
    await asSystem(() => withTx(() => Credits.reserve(t, jobId, 30)));
    expect(await row(t)).toEqual({ balance: 100, reserved: 30 });
    expect(await live(t)).toEqual({ tenant_id: t, balance: 100, reserved: 30, available: 70 });
    const { jobId: free } = await insertBareJob(t, { creditsPerItem: 0 });
    await asSystem(() => Credits.reserve(t, free, 0));
    expect((await ledgerRows(t)).filter((r) => r.kind === "reserve")).toEqual([
      { kind: "reserve", amount: 30, idempotency_key: `reserve:${jobId}`, actor: "system:worker" },
    ]);
    expect(await Credits.jobCredits(jobId)).toEqual({ reserved: 30, charged: 0, released: 0, refunded: 0 });
  });

  it("refuses more than is available with 402 credits.insufficient, writing nothing", async () => {
    const t = await tenantWith(100);
    const { jobId: held } = await insertBareJob(t);
    await asSystem(() => Credits.reserve(t, held, 30));
    const { jobId } = await insertBareJob(t, { items: 8, creditsPerItem: 10 });
    const before = await ledgerRows(t);
    const err = await asSystem(() =>
      withTx(async () => {
        await query("update jobs set metadata = CAST('{\"x\":1}' AS jsonb) where id = $1", [jobId]);
        await Credits.reserve(t, jobId, 70.0001);
      }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsufficientCreditsError);
    const e = err as InsufficientCreditsError;
    expect([e.status, e.code, e.details]).toEqual([402, "credits.insufficient", { required: 70.0001, available: 70 }]);
    expect(await row(t)).toEqual({ balance: 100, reserved: 30 });
    expect(await ledgerRows(t)).toEqual(before);
    expect((await query("select metadata from jobs where id = $1", [jobId])).rows[0]).toEqual({ metadata: {} });
    // Exactly what is available is accepted.
    await asSystem(() => Credits.reserve(t, jobId, 70));
    expect(await row(t)).toEqual({ balance: 100, reserved: 100 });
  });

  it("a tenant without a balance row has 0 available", async () => {
    const t = await tenantWith(0);
    const { jobId } = await insertBareJob(t);
    const err = await asSystem(() => Credits.reserve(t, jobId, 1)).catch((e: unknown) => e);
    expect((err as InsufficientCreditsError).details).toEqual({ required: 1, available: 0 });
    expect(await row(t)).toBeUndefined();
    expect(await ledgerRows(t)).toEqual([]);
  });

  it("50 concurrent reservations racing for credits that cover 10: exactly 10 succeed", async () => {
    const t = await tenantWith(100);
    const jobs = await Promise.all(Array.from({ length: 50 }, () => insertBareJob(t, { creditsPerItem: 10 })));
    const results = await Promise.allSettled(
      jobs.map(({ jobId }) => asSystem(() => withTx(() => Credits.reserve(t, jobId, 10)))),
    );
    const ok = results.filter((r) => r.status === "fulfilled");
    const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
    expect(ok).toHaveLength(10);
    expect(refused).toHaveLength(40);
    for (const e of refused) {
      expect(e).toBeInstanceOf(InsufficientCreditsError);
      expect(e.details).toEqual({ required: 10, available: 0 });
    }
    expect(await row(t)).toEqual({ balance: 100, reserved: 100 });
    expect((await ledgerRows(t)).filter((r) => r.kind === "reserve")).toHaveLength(10);
  });
});

describe("charge, release, refund, settle", () => {
  it("charge and release are ledger rows only, written once per item", async () => {
    const t = await tenantWith(50);
    const { jobId, itemIds } = await insertBareJob(t, { items: 2, creditsPerItem: 5 });
    const [a, b] = itemIds as [string, string];
    await asSystem(() => Credits.reserve(t, jobId, 10));
    const first = await asSystem(() =>
      withTx(async () => [await Credits.charge(t, jobId, a, 5), await Credits.release(t, jobId, b, 5)]),
    );
    const again = await asSystem(async () => [
      await Credits.charge(t, jobId, a, 5),
      await Credits.release(t, jobId, b, 5),
    ]);
    expect(first).toEqual([true, true]);
    expect(again).toEqual([false, false]);
    expect(await row(t)).toEqual({ balance: 50, reserved: 10 });
    expect((await ledgerRows(t)).filter((r) => r.kind === "charge" || r.kind === "release")).toEqual([
      { kind: "charge", amount: 5, idempotency_key: `charge:${a}`, actor: "system:worker" },
      { kind: "release", amount: 5, idempotency_key: `release:${b}`, actor: "system:worker" },
    ]);
    // Live figures count them at once.
    expect(await live(t)).toEqual({ tenant_id: t, balance: 45, reserved: 0, available: 45 });
    await settleJob(t, jobId);
  });

  it("a 0 charge still writes its row", async () => {
    const t = await tenantWith(1);
    const { jobId, itemIds } = await insertBareJob(t, { creditsPerItem: 0 });
    expect(await asSystem(() => Credits.charge(t, jobId, itemIds[0] as string, 0))).toBe(true);
    expect((await ledgerRows(t)).map((r) => [r.kind, r.amount])).toEqual([
      ["grant", 1],
      ["charge", 0],
    ]);
    expect(await settleJob(t, jobId)).toEqual({ charged: 0, released: 0 });
    expect(await row(t)).toEqual({ balance: 1, reserved: 0 });
  });

  it("refund drops the reserve at once, once per job", async () => {
    const t = await tenantWith(40);
    const { jobId } = await insertBareJob(t, { items: 4, creditsPerItem: 10 });
    await asSystem(() => Credits.reserve(t, jobId, 40));
    expect(await asSystem(() => withTx(() => Credits.refund(t, jobId, 30, "cancelled")))).toBe(true);
    expect(await asSystem(() => Credits.refund(t, jobId, 30, "cancelled again"))).toBe(false);
    expect(await row(t)).toEqual({ balance: 40, reserved: 10 });
    expect((await ledgerRows(t)).filter((r) => r.kind === "refund")).toHaveLength(1);
    expect(await live(t)).toEqual({ tenant_id: t, balance: 40, reserved: 10, available: 30 });
  });

  it("settle applies charges and releases once; live figures equal before and after", async () => {
    const t = await tenantWith(100);
    const { jobId, itemIds } = await insertBareJob(t, { items: 5, creditsPerItem: 2.5 });
    const [i0, i1, i2, i3] = itemIds as [string, string, string, string];
    await asSystem(() => Credits.reserve(t, jobId, 12.5));
    await asSystem(async () => {
      for (const id of [i0, i1, i2]) await Credits.charge(t, jobId, id, 2.5);
      await Credits.release(t, jobId, i3, 2.5);
      await Credits.refund(t, jobId, 2.5, "cancelled");
    });
    const before = await live(t);
    expect(before).toEqual({ tenant_id: t, balance: 92.5, reserved: 0, available: 92.5 });
    expect(await row(t)).toEqual({ balance: 100, reserved: 10 });
    expect(await settleJob(t, jobId)).toEqual({ charged: 7.5, released: 2.5 });
    expect(await row(t)).toEqual({ balance: 92.5, reserved: 0 });
    expect(await live(t)).toEqual(before);
    expect(await Credits.jobCredits(jobId, t)).toEqual({ reserved: 12.5, charged: 7.5, released: 2.5, refunded: 2.5 });
    expect(await Credits.jobCredits(jobId, randomUUID())).toEqual({
      reserved: 0,
      charged: 0,
      released: 0,
      refunded: 0,
    });
  });

  it("the invariants helper catches a row out of step with the ledger", async () => {
    const t = await tenantWith(10);
    await query("update credit_balances set balance = balance + 1 where tenant_id = $1", [t]);
    await expect(assertCreditInvariants(t)).rejects.toThrow(/sum of the ledger/);
    await query("update credit_balances set balance = balance - 1 where tenant_id = $1", [t]);
  });

  it("the invariants helper catches a settled job whose reserve is not spent", async () => {
    const t = await tenantWith(10);
    const { jobId } = await insertBareJob(t, { items: 2, creditsPerItem: 5 });
    await asSystem(() => Credits.reserve(t, jobId, 10));
    await query("update jobs set settled_at = now() where id = $1", [jobId]);
    await expect(assertCreditInvariants(t)).rejects.toThrow(/reserve = charge \+ release \+ refund/);
    await asSystem(() => Credits.refund(t, jobId, 10, "balance the books"));
  });
});

describe("credit_ledger is append-only", () => {
  for (const [op, text] of [
    ["UPDATE", "update credit_ledger set amount = 0 where tenant_id = $1"],
    ["DELETE", "delete from credit_ledger where tenant_id = $1"],
  ] as const) {
    it(`refuses ${op}, even to the owner role (the application role lacks the privilege: db-roles.test.ts)`, async () => {
      const t = await tenantWith(5);
      const err = await asOwner(text, [t]).then(
        () => undefined,
        (e: { code?: string; message?: string }) => ({ code: e.code, message: e.message }),
      );
      expect(err).toEqual({ code: "42501", message: `credit_ledger is append-only: ${op} is refused` });
      expect((await ledgerRows(t)).map((r) => [r.kind, r.amount])).toEqual([["grant", 5]]);
    });
  }
});
