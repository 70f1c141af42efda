/**
 * Input no route accepts, refused by httpHandler in one place before any schema or core code:
 * NUL characters and unpaired surrogates in any text (body, query, path, headers) and JSON nested
 * deeper than MAX_JSON_DEPTH. Each is a 400 naming the field; a refused completion leaves the
 * item with its worker, who completes it with a clean result.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { query } from "../../core/platform/db/index.ts";
import { MAX_JSON_DEPTH, nestedDeeperThan } from "../../functions/_lib/request-input.ts";
import { routes } from "../../functions/routes.ts";
import { invoke } from "../events/index.ts";
import { checkedKeyedTenants, spawnBody } from "../factories/jobs.ts";
import { withConfig } from "../setup/config-override.ts";
import { closedAfterEach, startWebhookReceiver } from "../setup/external-servers.ts";

const tenant = checkedKeyedTenants();
let t: Awaited<ReturnType<typeof tenant>>;
beforeAll(async () => {
  t = await tenant(1000);
});

const fields = (res: { body: any }): { field: string; message: string }[] => res.body.error.details.fields;
const fieldNames = (res: { body: any }) => fields(res).map((f) => f.field);
const NUL = "\u0000";
const LONE = "\ud800";
/** A concrete path of a route: each `{param}` filled with `value`. */
const pathOf = (path: string, value: string) => path.replace(/\{[^}]+\}/g, encodeURIComponent(value));
const someId = "0193a5d2-7c4e-7000-8000-000000000001";

describe("text Postgres cannot store, on every route", () => {
  for (const r of routes) {
    it(`${r.method} ${r.path}: 400 naming the field for a NUL in the query, a path parameter, a header and the body`, async () => {
      const key = t.keys.admin.key;
      const path = pathOf(r.path, someId);

      const inQuery = await invoke(r.method, path, { key, query: { tenant: `a${NUL}` } });
      expect(inQuery.status).toBe(400);
      expect(fieldNames(inQuery)).toEqual(["query.tenant"]);

      const inHeader = await invoke(r.method, path, { key, headers: { "x-correlation-id": `c${NUL}` } });
      expect(inHeader.status).toBe(400);
      expect(fieldNames(inHeader)).toEqual(["header.x-correlation-id"]);

      if (r.path.includes("{")) {
        const inPath = await invoke(r.method, pathOf(r.path, `x${NUL}`), { key });
        expect(inPath.status).toBe(400);
        expect(fieldNames(inPath).every((f) => f.startsWith("path."))).toBe(true);
      }
      if (r.method !== "GET" && r.method !== "DELETE") {
        const inBody = await invoke(r.method, path, { key, body: { a: { b: [`ok`, `x${NUL}y`] } } });
        expect(inBody.status).toBe(400);
        expect(fields(inBody)).toEqual([
          { field: "body.a.b.1", message: "contains a NUL character (\\u0000), which AOS cannot store" },
        ]);
        const surrogate = await invoke(r.method, path, { key, body: { a: `x${LONE}` } });
        expect(surrogate.status).toBe(400);
        expect(fieldNames(surrogate)).toEqual(["body.a"]);
        const inName = await invoke(r.method, path, { key, body: { a: { [`k${NUL}`]: 1 } } });
        expect(inName.status).toBe(400);
        expect(fieldNames(inName)).toEqual(["body.a"]);
      }
    });
  }

  it("a paired surrogate (an emoji) is text like any other", async () => {
    const res = await invoke("POST", "/api/v1/jobs", {
      key: t.keys.agent.key,
      body: spawnBody({ n: 1, input: () => ({ note: "ok \ud83d\ude00" }) }),
    });
    expect(res.status).toBe(201);
  });
});

describe("an item whose completion is refused stays with its worker", () => {
  it("NUL in a result: 400 naming it, nothing written; the worker completes it cleanly after; a failed one is claimable again", async () => {
    const key = t.keys.agent.key;
    const job = await invoke("POST", "/api/v1/jobs", { key, body: spawnBody({ n: 2 }) });
    expect(job.status).toBe(201);
    const claim = await invoke("POST", `/api/v1/jobs/${job.body.id}/claim`, {
      key,
      body: { worker_id: "w1", max_items: 2, lease_s: 60 },
    });
    expect(claim.body.items).toHaveLength(2);
    const [a, b] = claim.body.items as { id: string }[];
    const historyBefore = await query("select count(*)::int as n from status_history");

    const refused = await invoke("POST", `/api/v1/items/${a?.id}/complete`, {
      key,
      body: { worker_id: "w1", result: { text: `partial${NUL}output` } },
    });
    expect(refused.status).toBe(400);
    expect(fieldNames(refused)).toEqual(["body.result.text"]);
    const many = await invoke("POST", "/api/v1/items/complete", {
      key,
      body: {
        worker_id: "w1",
        items: [
          { id: b?.id, result: { ok: true } },
          { id: a?.id, result: [NUL] },
        ],
      },
    });
    expect(many.status).toBe(400);
    expect(fieldNames(many)).toEqual(["body.items.1.result.0"]);
    const rows = await query<{ status: string; claimed_by: string }>(
      "select status, claimed_by from job_items where job_id = $1 order by idx",
      [job.body.id],
    );
    expect(rows.rows).toEqual([
      { status: "claimed", claimed_by: "w1" },
      { status: "claimed", claimed_by: "w1" },
    ]);
    expect((await query("select count(*)::int as n from status_history")).rows).toEqual(historyBefore.rows);

    const done = await invoke("POST", `/api/v1/items/${a?.id}/complete`, {
      key,
      body: { worker_id: "w1", result: { text: "partial output" } },
    });
    expect(done.status).toBe(200);
    expect(done.body.status).toBe("done");
    // The other: failed (retryable) by its worker, then claimable again and completed.
    const failed = await invoke("POST", `/api/v1/items/${b?.id}/fail`, {
      key,
      body: { worker_id: "w1", error: { message: "result had a NUL" }, retryable: true },
    });
    expect(failed.body.status).toBe("pending");
    const again = await invoke("POST", `/api/v1/jobs/${job.body.id}/claim`, {
      key,
      body: { worker_id: "w2", max_items: 1, lease_s: 60 },
    });
    expect(again.body.items.map((i: { id: string }) => i.id)).toEqual([b?.id]);
    const last = await invoke("POST", `/api/v1/items/${b?.id}/complete`, {
      key,
      body: { worker_id: "w2", result: { ok: true } },
    });
    expect(last.status).toBe(200);
    expect((await invoke("GET", `/api/v1/jobs/${job.body.id}`, { key })).body.status).toBe("completed");
  });
});

describe("text from outside that Postgres cannot store", () => {
  const track = closedAfterEach();

  it("a webhook receiver answering with a NUL: the preview has U+FFFD instead, and the result is stored", async () => {
    const config = {
      WEBHOOK_SIGNING_SECRET: "whsec-master-for-tests-0123456789abcdef0123",
      SKILL_OUTBOUND_ALLOW_HOSTS: "127.0.0.1",
    };
    await withConfig(config, async () => {
      const secret = (await invoke("GET", "/api/v1/webhooks/signing_secret", { key: t.keys.operator.key })).body.secret;
      const hook = track(await startWebhookReceiver({ secret }));
      hook.always({ status: 200, body: `ok${NUL}done` });
      const res = await invoke("POST", "/api/v1/skills/webhook_send/execute", {
        key: t.keys.agent.key,
        body: { args: { url: hook.url, payload: { n: 1 } }, idempotency_key: "nul-reply-1" },
      });
      expect(res.status).toBe(200);
      expect(res.body.result.response_body).toBe("ok\ufffddone");
      // It was stored: the same key answers the stored result, without a second delivery.
      const again = await invoke("POST", "/api/v1/skills/webhook_send/execute", {
        key: t.keys.agent.key,
        body: { args: { url: hook.url, payload: { n: 1 } }, idempotency_key: "nul-reply-1" },
      });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ replayed: true, result: { response_body: "ok\ufffddone" } });
      expect(hook.deliveries).toHaveLength(1);
    });
  });
});

describe("JSON nesting depth", () => {
  const nested = (levels: number) => `${"[".repeat(levels)}1${"]".repeat(levels)}`;

  it("the scanner counts arrays and objects, skips strings and escapes, and stops past the limit", () => {
    expect(nestedDeeperThan('{"a":[[1]]}', 3)).toBe(false);
    expect(nestedDeeperThan('{"a":[[1]]}', 2)).toBe(true);
    expect(nestedDeeperThan('{"a":"[[[[[[\\"[[[["}', 1)).toBe(false);
    expect(nestedDeeperThan(nested(1_000_000), 64)).toBe(true);
  });

  it(`accepts ${MAX_JSON_DEPTH} levels, refuses ${MAX_JSON_DEPTH + 1} and 10,000 with a 400 on body`, async () => {
    const key = t.keys.agent.key;
    // The body, the items array, its entry and the input object are 4 levels; `v` nests the rest.
    const spawn = (levels: number) =>
      invoke("POST", "/api/v1/jobs", {
        key,
        rawBody: `{"task":"external","credits_per_item":1,"items":[{"input":{"v":${nested(levels - 4)}}}]}`,
      });
    expect((await spawn(MAX_JSON_DEPTH)).status).toBe(201);
    const over = await spawn(MAX_JSON_DEPTH + 1);
    expect(over.status).toBe(400);
    expect(fields(over)).toEqual([
      { field: "body", message: `nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels` },
    ]);
    const deep = await invoke("POST", "/api/v1/jobs", {
      key,
      rawBody: `{"task":"external","items":[{"input":${nested(10_000)}}]}`,
    });
    expect(deep.status).toBe(400);
    expect(fieldNames(deep)).toEqual(["body"]);
  });

  it("malformed JSON is described in AOS's words, not JSON.parse's", async () => {
    for (const rawBody of ['{"task": ', '{"task": x}', "{'task': 1}", "[1,]"]) {
      const res = await invoke("POST", "/api/v1/jobs", { key: t.keys.agent.key, rawBody });
      expect(res.status).toBe(400);
      expect(fields(res)).toEqual([{ field: "body", message: "not valid JSON" }]);
    }
  });
});
