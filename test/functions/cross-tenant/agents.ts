/**
 * Cross-tenant cases of the agents routes (see ../cross-tenant.test.ts): A's keys never see,
 * message, lease, ack, replay, invoke or answer anything of B's instances, messages and invokes.
 */
import { expect } from "vitest";
import { query } from "../../../core/platform/db/index.ts";
import { invoke } from "../../events/index.ts";
import { actingAs, registerAgent } from "../../factories/agents.ts";
import { insertBareJob } from "../../factories/credits.ts";
import type { Cases, Fixture } from "./fixture.ts";

const aKeys = ({ a }: Fixture) => [a.keys.viewer.key, a.keys.agent.key, a.keys.operator.key, a.keys.admin.key];

/** An instance of B with one message from another instance of B in its inbox. */
async function bWithMessage({ bKey }: Fixture) {
  const agent = await registerAgent(bKey.key, "b-worker");
  const sender = await registerAgent(bKey.key, "b-sender");
  const sent = await invoke("POST", "/api/v1/messages", {
    key: bKey.key,
    body: { to: agent, type: "secret", payload: { secret: "secret-of-b" }, message_id: `b-${agent}` },
    headers: actingAs(sender),
  });
  expect(sent.status).toBe(201);
  return { agent, sender, message: sent.body.id as string };
}

/** A message of B made a dead letter (delivered too often), with SQL: the routes' side is what is tested. */
async function bDeadLetter(t: Fixture) {
  const { agent, message } = await bWithMessage(t);
  await query("update agent_messages set dead_at = now(), deliveries = 5 where id = $1", [message]);
  return { agent, message };
}

/** An invoke of B (caller and target B's), left open with its request unanswered. */
async function bInvoke(t: Fixture): Promise<{ invokeId: string; target: string }> {
  const target = await registerAgent(t.bKey.key, "b-target");
  const pending = invoke("POST", `/api/v1/agents/${target}/invoke`, {
    key: t.bKey.key,
    body: { input: { secret: "secret-of-b" }, timeout_s: 1 },
  });
  const got = await invoke("GET", `/api/v1/agents/${target}/messages`, { key: t.bKey.key, query: { wait_s: "5" } });
  const invokeId = got.body.data[0].payload.invoke_id as string;
  expect((await pending).status).toBe(504);
  return { invokeId, target };
}

/** A namespace of B holding `plan` (a secret and a score) and `count` (1). */
async function bBoard({ bKey }: Fixture): Promise<string> {
  const ns = `ct-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const put = await invoke("PUT", `/api/v1/blackboard/${ns}/plan`, {
    key: bKey.key,
    body: { value: { secret: "secret-of-b", score: 42 } },
  });
  expect(put.status).toBe(200);
  await invoke("POST", `/api/v1/blackboard/${ns}/count/incr`, { key: bKey.key, body: { by: 1 } });
  return ns;
}
const bEntry = (t: Fixture, ns: string) => invoke("GET", `/api/v1/blackboard/${ns}/plan`, { key: t.b.keys.viewer.key });

const unseen = (res: { status: number; text: string }, t: Fixture) => {
  expect(res.status).toBe(404);
  expect(res.text).not.toContain("secret-of-b");
  expect(res.text).not.toContain(t.b.tenant.id);
};

export const agentCases: Cases = {
  "POST /api/v1/agents": async (t) => {
    const { jobId } = await insertBareJob(t.b.tenant.id);
    // A's instance is A's; naming B's job is a 404; a tenant in the body is refused.
    const forged = await invoke("POST", "/api/v1/agents", {
      key: t.a.keys.agent.key,
      body: { name: "x", job_id: jobId },
    });
    expect(forged.status).toBe(404);
    const tenant = await invoke("POST", "/api/v1/agents", {
      key: t.a.keys.agent.key,
      body: { name: "x", tenant: t.b.tenant.id },
    });
    expect(tenant.status).toBe(400);
    const own = await invoke("POST", "/api/v1/agents", { key: t.a.keys.agent.key, body: { name: "a" } });
    expect(own.body.tenant_id).toBe(t.a.tenant.id);
    expect((await invoke("GET", `/api/v1/agents/${own.body.id}`, { key: t.b.keys.viewer.key })).status).toBe(404);
  },
  "GET /api/v1/agents": async (t) => {
    const { agent } = await bWithMessage(t);
    for (const key of aKeys(t)) {
      const res = await invoke("GET", "/api/v1/agents", { key, query: { limit: "1000" } });
      expect(res.status).toBe(200);
      expect(res.text).not.toContain(agent);
    }
  },
  "GET /api/v1/agents/{id}": async (t) => {
    const { agent } = await bWithMessage(t);
    for (const key of aKeys(t)) unseen(await invoke("GET", `/api/v1/agents/${agent}`, { key }), t);
    expect((await invoke("GET", `/api/v1/agents/${agent}`, { key: t.b.keys.viewer.key })).status).toBe(200);
  },
  "POST /api/v1/agents/{id}/heartbeat": async (t) => {
    const { agent } = await bWithMessage(t);
    const before = await query("select last_seen_at from agent_instances where id = $1", [agent]);
    unseen(await invoke("POST", `/api/v1/agents/${agent}/heartbeat`, { key: t.a.keys.agent.key }), t);
    expect((await query("select last_seen_at from agent_instances where id = $1", [agent])).rows).toEqual(before.rows);
  },
  "DELETE /api/v1/agents/{id}": async (t) => {
    const { agent, message } = await bWithMessage(t);
    for (const key of [t.a.keys.agent.key, t.a.keys.admin.key])
      unseen(await invoke("DELETE", `/api/v1/agents/${agent}`, { key }), t);
    // B's instance is untouched: active, its inbox open, its message not dead-lettered.
    const { rows } = await query(
      "select i.deregistered_at, m.dead_at, (select count(*) from agent_inboxes where agent_id = i.id) as inboxes from agent_instances i join agent_messages m on m.recipient_id = i.id where m.id = $1",
      [message],
    );
    expect(rows[0]).toEqual({ deregistered_at: null, dead_at: null, inboxes: 1 });
  },
  "GET /api/v1/agents/{id}/messages": async (t) => {
    const { agent, message } = await bWithMessage(t);
    unseen(await invoke("GET", `/api/v1/agents/${agent}/messages`, { key: t.a.keys.agent.key }), t);
    // Nothing was leased: B's receiver gets it on its first delivery.
    const b = await invoke("GET", `/api/v1/agents/${agent}/messages`, { key: t.bKey.key });
    expect(b.body.data.map((m: { id: string; deliveries: number }) => [m.id, m.deliveries])).toEqual([[message, 1]]);
  },
  "POST /api/v1/agents/{id}/invoke": async (t) => {
    const { agent } = await bWithMessage(t);
    unseen(
      await invoke("POST", `/api/v1/agents/${agent}/invoke`, {
        key: t.a.keys.agent.key,
        body: { input: 1, timeout_s: 1 },
      }),
      t,
    );
    // Nor may A's key act as B's instance to invoke one of A's.
    const mine = await registerAgent(t.a.keys.agent.key, "a-target");
    const posing = await invoke("POST", `/api/v1/agents/${mine}/invoke`, {
      key: t.a.keys.agent.key,
      body: { input: 1, timeout_s: 1 },
      headers: actingAs(agent),
    });
    expect(posing.status).toBe(404);
    const { rows } = await query(
      "select 1 from invoke_audit where target_instance_id = $1 or caller_instance_id = $1",
      [agent],
    );
    expect(rows).toEqual([]);
  },
  "POST /api/v1/messages": async (t) => {
    const { agent, sender } = await bWithMessage(t);
    unseen(
      await invoke("POST", "/api/v1/messages", { key: t.a.keys.agent.key, body: { to: agent, type: "x", payload: 1 } }),
      t,
    );
    // Posing as B's sender to reach A's own instance is refused too, and B's message_id is not A's.
    const mine = await registerAgent(t.a.keys.agent.key, "a-inbox");
    const posing = await invoke("POST", "/api/v1/messages", {
      key: t.a.keys.agent.key,
      body: { to: mine, type: "x", payload: 1, message_id: `b-${agent}` },
      headers: actingAs(sender),
    });
    expect(posing.status).toBe(404);
    const { rows } = await query<{ n: number }>("select count(*) as n from agent_messages where recipient_id = $1", [
      agent,
    ]);
    expect(rows[0]?.n).toBe(1);
  },
  "POST /api/v1/messages/{id}/ack": async (t) => {
    const { message } = await bWithMessage(t);
    unseen(await invoke("POST", `/api/v1/messages/${message}/ack`, { key: t.a.keys.agent.key }), t);
    const { rows } = await query("select acked_at from agent_messages where id = $1", [message]);
    expect(rows[0]).toEqual({ acked_at: null });
  },
  "GET /api/v1/messages/dead": async (t) => {
    const { agent, message } = await bDeadLetter(t);
    for (const key of aKeys(t)) {
      const res = await invoke("GET", "/api/v1/messages/dead", { key, query: { limit: "1000" } });
      expect(res.status).toBe(200);
      expect(res.text).not.toContain(message);
      const named = await invoke("GET", "/api/v1/messages/dead", { key, query: { to: agent } });
      expect(named.body.data).toEqual([]);
    }
    const b = await invoke("GET", "/api/v1/messages/dead", { key: t.b.keys.viewer.key, query: { to: agent } });
    expect(b.body.data.map((m: { id: string }) => m.id)).toEqual([message]);
  },
  "POST /api/v1/messages/{id}/replay": async (t) => {
    const { message } = await bDeadLetter(t);
    unseen(await invoke("POST", `/api/v1/messages/${message}/replay`, { key: t.a.keys.admin.key }), t);
    const { rows } = await query("select dead_at is not null as dead from agent_messages where id = $1", [message]);
    expect(rows[0]).toEqual({ dead: true });
  },
  "POST /api/v1/invokes/{invoke_id}/respond": async (t) => {
    const { invokeId } = await bInvoke(t);
    unseen(
      await invoke("POST", `/api/v1/invokes/${invokeId}/respond`, { key: t.a.keys.agent.key, body: { output: 1 } }),
      t,
    );
    const { rows } = await query("select status from invoke_audit where invoke_id = $1", [invokeId]);
    expect(rows[0]).toEqual({ status: "timeout" });
  },
  "POST /api/v1/invokes/{invoke_id}/cancel": async (t) => {
    const { invokeId } = await bInvoke(t);
    for (const key of [t.a.keys.agent.key, t.a.keys.admin.key])
      unseen(await invoke("POST", `/api/v1/invokes/${invokeId}/cancel`, { key }), t);
    const { rows } = await query("select status from invoke_audit where invoke_id = $1", [invokeId]);
    expect(rows[0]).toEqual({ status: "timeout" });
  },
  "GET /api/v1/invokes": async (t) => {
    const { invokeId, target } = await bInvoke(t);
    for (const key of aKeys(t)) {
      const res = await invoke("GET", "/api/v1/invokes", { key, query: { limit: "1000" } });
      expect(res.status).toBe(200);
      expect(res.text).not.toContain(invokeId);
      expect(res.text).not.toContain(target);
    }
  },
  "GET /api/v1/invokes/{invoke_id}": async (t) => {
    const { invokeId } = await bInvoke(t);
    for (const key of aKeys(t)) unseen(await invoke("GET", `/api/v1/invokes/${invokeId}`, { key }), t);
    expect((await invoke("GET", `/api/v1/invokes/${invokeId}`, { key: t.b.keys.viewer.key })).status).toBe(200);
  },
  "PUT /api/v1/blackboard/{ns}/{key}": async (t) => {
    const ns = await bBoard(t);
    // A writing the same namespace and key writes its own entry: B's stays as it was.
    for (const key of [t.a.keys.agent.key, t.a.keys.admin.key]) {
      const res = await invoke("PUT", `/api/v1/blackboard/${ns}/plan`, { key, body: { value: "of a", if_version: 0 } });
      expect(res.status === 200 || res.status === 409).toBe(true);
      expect(res.text).not.toContain("secret-of-b");
    }
    expect((await bEntry(t, ns)).body).toMatchObject({ value: { secret: "secret-of-b", score: 42 }, version: 1 });
  },
  "GET /api/v1/blackboard/{ns}/{key}": async (t) => {
    const ns = await bBoard(t);
    for (const key of aKeys(t)) unseen(await invoke("GET", `/api/v1/blackboard/${ns}/plan`, { key }), t);
  },
  "DELETE /api/v1/blackboard/{ns}/{key}": async (t) => {
    const ns = await bBoard(t);
    unseen(await invoke("DELETE", `/api/v1/blackboard/${ns}/plan`, { key: t.a.keys.admin.key }), t);
    expect((await bEntry(t, ns)).status).toBe(200);
  },
  "POST /api/v1/blackboard/{ns}/{key}/incr": async (t) => {
    const ns = await bBoard(t);
    // A's increment of the same namespace and key counts in A's entry, never B's.
    const own = await invoke("POST", `/api/v1/blackboard/${ns}/count/incr`, {
      key: t.a.keys.agent.key,
      body: { by: 5 },
    });
    expect(own.body.value).toBe(5);
    const b = await invoke("GET", `/api/v1/blackboard/${ns}/count`, { key: t.b.keys.viewer.key });
    expect(b.body.value).toBe(1);
  },
  "GET /api/v1/blackboard/{ns}": async (t) => {
    const ns = await bBoard(t);
    for (const key of aKeys(t)) {
      const res = await invoke("GET", `/api/v1/blackboard/${ns}`, { key });
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual([]);
    }
  },
  "GET /api/v1/blackboard-aggregates/{ns}": async (t) => {
    const ns = await bBoard(t);
    for (const key of aKeys(t)) {
      const res = await invoke("GET", `/api/v1/blackboard-aggregates/${ns}`, {
        key,
        query: { field: "score", top: "5" },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ count: 0, field_count: 0, sum: 0, top: [] });
    }
    const b = await invoke("GET", `/api/v1/blackboard-aggregates/${ns}`, {
      key: t.b.keys.viewer.key,
      query: { field: "score" },
    });
    expect(b.body).toMatchObject({ count: 2, field_count: 1, sum: 42 });
  },
};
