/**
 * `aos agents|messages|invoke|blackboard` as child processes against a local AOS serving the
 * real handlers: register two instances, send and receive a message, invoke one from the other
 * (answered with `invoke respond`, then one canceled with `invoke cancel`), deregister one, and
 * use the blackboard.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { runAos } from "../setup/aos-cli.ts";
import { type LocalApi, startLocalApi } from "../setup/local-api.ts";

let api: LocalApi;
let key: string;
beforeAll(async () => {
  api = await startLocalApi();
  key = (await makeTenantWithKeys()).keys.agent.key;
});
afterAll(() => api.close());

async function aos(...args: string[]): Promise<{ code: number; json: any; stderr: string }> {
  const r = await runAos(args, { AOS_URL: api.url, AOS_KEY: key });
  return { code: r.code, json: r.stdout.trim() ? JSON.parse(r.stdout) : undefined, stderr: r.stderr };
}

describe("aos agents, messages, invoke, blackboard", () => {
  it("registers, messages, invokes and shares a board by hand", async () => {
    const a = (await aos("agents", "register", "orchestrator", "--capabilities", "plan,sum")).json;
    const b = (await aos("agents", "register", "worker")).json;
    expect(a.capabilities).toEqual(["plan", "sum"]);
    const sent = await aos(
      "messages",
      "send",
      b.id,
      "hello",
      "--payload",
      '{"n":1}',
      "--as",
      a.id,
      "--message-id",
      "m1",
    );
    expect(sent.json).toMatchObject({ from: a.id, to: b.id, seq: 1 });
    const got = await aos("messages", "receive", b.id, "--wait", "2");
    expect(got.json.data.map((m: { payload: unknown }) => m.payload)).toEqual([{ n: 1 }]);
    expect((await aos("messages", "ack", got.json.data[0].id)).code).toBe(0);

    const invoking = aos("invoke", b.id, "--input", '{"q":1}', "--timeout", "15", "--as", a.id);
    const request = await aos("messages", "receive", b.id, "--wait", "10");
    const invokeId = request.json.data[0].payload.invoke_id;
    expect((await aos("invoke", "respond", invokeId, "--output", '{"a":2}', "--as", b.id)).code).toBe(0);
    expect((await invoking).json).toMatchObject({ status: "completed", response_payload: { output: { a: 2 } } });
    expect((await aos("invoke", "get", invokeId)).json.messages).toHaveLength(1);

    // The caller cancels a second invoke; then the worker is deregistered and answers 410.
    const waiting = aos("invoke", b.id, "--input", "2", "--timeout", "15", "--as", a.id);
    const second = (await aos("messages", "receive", b.id, "--wait", "10")).json.data[0].payload.invoke_id;
    expect((await aos("invoke", "cancel", second, "--as", a.id)).json.status).toBe("canceled");
    expect((await waiting).json.status).toBe("canceled");
    expect((await aos("agents", "deregister", b.id)).json.status).toBe("deregistered");
    const gone = await aos("agents", "heartbeat", b.id);
    expect(gone.code).toBe(1);
    expect(gone.json.error.code).toBe("agents.deregistered");

    expect((await aos("blackboard", "put", "job-x", "plan", '{"score":3}')).json.version).toBe(1);
    const stale = await aos("blackboard", "put", "job-x", "plan", '{"score":4}', "--if-version", "5");
    expect(stale.code).toBe(1);
    expect(stale.json.error.code).toBe("blackboard.version_mismatch");
    expect((await aos("blackboard", "incr", "job-x", "hits", "--by", "2")).json.value).toBe(2);
    const agg = await aos("blackboard", "aggregate", "job-x", "--field", "score", "--top", "1");
    expect(agg.json).toMatchObject({ count: 2, field_count: 1, sum: 3, top: [{ key: "plan", value: 3 }] });
  }, 120_000);
});
