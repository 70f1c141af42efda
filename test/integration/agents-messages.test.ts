/**
 * Messages at volume and the AgentSweep, on core against the real Postgres and Redis: 10,000
 * messages worked by consumers that get killed mid-flight (0 lost, dead letters visible and
 * replayable), and the sweep's dead-lettering, expiry and timing out of invokes whose caller died.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as Agents from "../../core/agents/index.ts";
import { configOverrides, replaceConfigOverrides, setConfig } from "../../core/config.ts";
import { withContext } from "../../core/context.ts";
import * as Credits from "../../core/credits/index.ts";
import { setClock, systemClock } from "../../core/platform/clock.ts";
import { query } from "../../core/platform/db/index.ts";
import { ShiftedClock } from "../factories/agents.ts";
import { assertCreditInvariants, grantCredits } from "../factories/credits.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
let t: Tenant;
const clock = new ShiftedClock();
const original = configOverrides();
beforeAll(async () => {
  setConfig({ MESSAGE_MAX_DELIVERIES: "3", MESSAGE_LEASE_S: "30" });
  setClock(clock);
  t = await makeTenantWithKeys();
});
afterAll(() => {
  setClock(systemClock);
  replaceConfigOverrides(original);
});

const asT = <T>(fn: () => Promise<T>) =>
  withContext(
    {
      requestId: "t",
      correlationId: "t",
      actor: { type: "key", keyId: t.keys.agent.id, tenantId: t.tenant.id, role: "agent" },
    },
    fn,
  );
const asSweep = <T>(fn: () => Promise<T>) =>
  withContext({ requestId: "s", correlationId: "s", actor: { type: "system", name: "agent-sweep" } }, fn);

describe("10,000 messages, consumers killed mid-flight", () => {
  it("none lost; poison messages become dead letters, visible and replayable", async () => {
    const to = (await asT(() => Agents.register({ name: "inbox", capabilities: [] }))).id;
    const total = 10_000;
    const poison = new Set<number>();
    // 50 sends at a time: more would only queue for the pool's 10 connections (and, on a busy
    // machine, past its connect timeout).
    for (let i = 0; i < total; i += 50) {
      await asT(() =>
        Promise.all(
          Array.from({ length: Math.min(50, total - i) }, (_, j) => {
            const n = i + j;
            if (n % 500 === 7) poison.add(n);
            return Agents.send("key:producer", { to, type: "work", payload: { n }, message_id: `m-${n}` });
          }),
        ),
      );
    }
    const acked = new Set<number>();
    let batches = 0;
    let killed = 0;
    /** A consumer: takes batches until none is due; before the fix, every 4th batch it is killed before acking. */
    const consumer = (fixed: boolean) =>
      asT(async () => {
        for (;;) {
          const { data } = await Agents.receive(to, { wait_s: 0, after_seq: 0, limit: 50 });
          if (data.length === 0) return;
          batches += 1;
          if (!fixed && batches % 4 === 0) {
            killed += data.length; // killed mid-flight: the batch stays leased, unacked
            continue;
          }
          for (const m of data) {
            const n = (m.payload as { n: number }).n;
            if (poison.has(n) && !fixed) continue; // crashes on it: never acked
            await Agents.ack(m.id);
            acked.add(n);
          }
        }
      });
    for (let round = 0; round < 6; round++) {
      await Promise.all([consumer(false), consumer(false), consumer(false), consumer(false)]);
      clock.advance(31_000); // every lease of the round ends
    }
    expect(killed).toBeGreaterThan(0);
    const dead = await asT(() => Agents.dead({ limit: 1000, to }));
    expect(dead.next_cursor).toBeNull();
    const deadNs = dead.data.map((m) => (m.payload as { n: number }).n).sort((a, b) => a - b);
    // Every poison message is there; so is any other whose every delivery went to a killed consumer.
    for (const n of poison) expect(deadNs).toContain(n);
    for (const n of deadNs) expect(acked.has(n)).toBe(false);
    expect(acked.size + deadNs.length).toBe(total);
    for (const m of dead.data) await asT(() => Agents.replay(m.id));
    // Fixed consumers (poison handled, no more crashes) take the replayed letters.
    await Promise.all([consumer(true), consumer(true)]);
    expect(acked.size).toBe(total);
    const { rows } = await query<{ open: number; stored: number }>(
      "select count(*) filter (where acked_at is null) as open, count(*) as stored from agent_messages where recipient_id = $1",
      [to],
    );
    expect(rows[0]).toEqual({ open: 0, stored: total });
  }, 240_000);
});

describe("the AgentSweep", () => {
  it("dead-letters leases past the limit, deletes expired messages, times out invokes of dead callers", async () => {
    await grantCredits(t.tenant.id, 10);
    const to = (await asT(() => Agents.register({ name: "swept", capabilities: [] }))).id;
    const overDelivered = await asT(() => Agents.send("key:x", { to, type: "t", payload: 1 }));
    const expiring = await asT(() => Agents.send("key:x", { to, type: "t", payload: 2, ttl_s: 5 }));
    await query("update agent_messages set deliveries = 3, leased_until = $2 where id = $1", [
      overDelivered.id,
      clock.now(),
    ]);
    // An invoke whose caller died: its audit row and hold, as invoke() writes them, never answered.
    const invokeId = randomUUID();
    const holdId = await asT(() =>
      Credits.hold(t.tenant.id, 4, `invoke ${invokeId}`, new Date(clock.nowMs() + 600_000), "agent_invoke"),
    );
    await query(
      `insert into invoke_audit (tenant_id, invoke_id, caller_instance_id, target_instance_id, request_payload, status,
         credits_reserved, hold_id, timeout_s, started_at, deadline_at)
       values ($1, $2, 'key:dead', $3, CAST('{}' AS jsonb), 'submitted', 4, $4, 1, $5, $6)`,
      [t.tenant.id, invokeId, to, holdId, clock.now(), new Date(clock.nowMs() + 1000)],
    );
    clock.advance(10_000);
    const result = await asSweep(() => Agents.sweep());
    expect(result).toMatchObject({ dead: 1, invokesTimedOut: 1 });
    expect(result.expired).toBeGreaterThanOrEqual(1);
    const { rows } = await query<{ id: string; dead: boolean }>(
      "select id, dead_at is not null as dead from agent_messages where id = any($1)",
      [[overDelivered.id, expiring.id]],
    );
    expect(rows).toEqual([{ id: overDelivered.id, dead: true }]);
    const audit = await query("select status from invoke_audit where invoke_id = $1", [invokeId]);
    expect(audit.rows[0]).toEqual({ status: "timeout" });
    expect((await query("select 1 from credit_holds where id = $1", [holdId])).rows).toEqual([]);
    await assertCreditInvariants(t.tenant.id);
    expect(await asSweep(() => Agents.sweep())).toMatchObject({ dead: 0, invokesTimedOut: 0 });
  });
});
