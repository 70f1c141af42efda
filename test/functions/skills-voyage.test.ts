/**
 * voyage_embed through the execute handler against a Voyage-like server on loopback: batching
 * (by count and by estimated tokens), vectors in input order, usage summed, retries of a failed
 * batch, and every way the call fails (bad key, malformed reply, no key configured, bad args),
 * without the API key ever appearing in a reply.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { invoke } from "../events/index.ts";
import { grantCredits } from "../factories/credits.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { withConfig } from "../setup/config-override.ts";
import {
  expectedTokens,
  expectedVector,
  type Malformation,
  startVoyageServer,
  type VoyageServer,
} from "../setup/voyage-server.ts";

const EXECUTE = "/api/v1/skills/voyage_embed/execute";
const API_KEY = "vk-test-4f1c9a7e2b";
let voyage: VoyageServer;
let agentKey: string;

beforeAll(async () => {
  voyage = await startVoyageServer({ apiKey: API_KEY });
  const tenant = await makeTenantWithKeys();
  agentKey = tenant.keys.agent.key;
  await grantCredits(tenant.tenant.id, 1_000_000);
});
afterAll(() => voyage.close());
afterEach(() => voyage.reset());

/** The handler with voyage configured against the loopback server (batches of 3, quick retries). */
function embed(args: unknown, env: Record<string, string> = {}) {
  return withConfig(
    {
      VOYAGE_API_KEY: API_KEY,
      VOYAGE_BASE_URL: voyage.url,
      VOYAGE_MAX_BATCH: "3",
      SKILL_RETRY_BASE_MS: "10",
      ...env,
    },
    () => invoke("POST", EXECUTE, { key: agentKey, body: { args } }),
  );
}

const texts = ["the quick brown fox", "jumps", "over the lazy dog", "a", "b c", "d e f", "g h i j"];
const totalTokens = texts.reduce((s, t) => s + expectedTokens(t), 0);

describe("batching", () => {
  it("7 inputs in batches of 3 -> 3 requests of 3, 3, 1; vectors in input order; usage summed", async () => {
    const res = await embed({ input: texts, input_type: "document" });
    expect(res.status).toBe(200);
    expect(voyage.batchSizes()).toEqual([3, 3, 1]);
    expect(res.body.result).toEqual({
      model: "voyage-3.5",
      embeddings: texts.map(expectedVector),
      usage: { total_tokens: totalTokens },
      batches: 3,
    });
    expect(res.body.retries).toEqual([]);
    const sent = voyage.requests.map((r) => r.body);
    expect(sent.map((b) => b?.input)).toEqual([texts.slice(0, 3), texts.slice(3, 6), texts.slice(6)]);
    expect(sent.every((b) => b?.model === "voyage-3.5" && b.input_type === "document")).toBe(true);
    expect(voyage.requests.every((r) => r.headers["content-type"] === "application/json")).toBe(true);
    expect(res.text).not.toContain(API_KEY);
  });

  it("uses each item's index, not the order the reply lists them in", async () => {
    voyage.shuffle = true;
    const res = await embed({ input: texts, model: "voyage-3-large" });
    expect(res.status).toBe(200);
    expect(res.body.result.embeddings).toEqual(texts.map(expectedVector));
    expect(res.body.result.model).toBe("voyage-3-large");
    expect(voyage.requests[0]?.body).not.toHaveProperty("input_type");
  });

  it("a batch also closes at the model's token budget: two long texts go in two requests", async () => {
    // voyage-law-2 allows 120K tokens a request; the skill keeps 90% and counts a character as a token.
    const long = ["x".repeat(60_000), "y".repeat(60_000)];
    const res = await embed({ input: long, model: "voyage-law-2" }, { VOYAGE_MAX_BATCH: "1000" });
    expect(res.status).toBe(200);
    expect(voyage.batchSizes()).toEqual([1, 1]);
    expect(res.body.result.embeddings).toEqual(long.map(expectedVector));
  });

  it("texts within the budget share one request", async () => {
    const fits = ["x".repeat(50_000), "y".repeat(50_000)];
    const res = await embed({ input: fits, model: "voyage-law-2" }, { VOYAGE_MAX_BATCH: "1000" });
    expect(res.status).toBe(200);
    expect(voyage.batchSizes()).toEqual([2]);
  });
});

describe("retries", () => {
  it("a 500 then success: the batch is retried once and the reply lists that retry", async () => {
    voyage.failNext(1, 500);
    const res = await embed({ input: texts });
    expect(res.status).toBe(200);
    expect(res.body.result.embeddings).toEqual(texts.map(expectedVector));
    expect(res.body.retries).toHaveLength(1);
    expect(res.body.retries[0]).toMatchObject({ step: 0, attempt: 1, error_code: "skills.upstream_error" });
    expect(voyage.requests.map((r) => r.status)).toEqual([500, 200, 200, 200]);
  });

  it("a 429 with Retry-After: 1 is retried after a second", async () => {
    voyage.failNext(1, 429, { "retry-after": "1" });
    const res = await embed({ input: ["one"] });
    expect(res.status).toBe(200);
    expect(res.body.retries).toEqual([{ step: 0, attempt: 1, delay_ms: 1000, error_code: "skills.upstream_error" }]);
  });

  it("500s on every attempt -> 502 skills.upstream_error after SKILL_RETRY_MAX_ATTEMPTS requests", async () => {
    voyage.failNext(10, 503);
    const res = await embed({ input: ["one"] });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("skills.upstream_error");
    expect(voyage.requests).toHaveLength(config().skills.retry.maxAttempts);
  });
});

describe("failures", () => {
  it("a wrong key -> 502 skills.upstream_rejected, not retried, no key in the reply", async () => {
    const res = await embed({ input: texts }, { VOYAGE_API_KEY: "vk-wrong-key-31337" });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("skills.upstream_rejected");
    expect(voyage.requests.map((r) => r.status)).toEqual([401]);
    expect(res.text).not.toContain("vk-wrong-key-31337");
    expect(res.text).not.toContain(API_KEY);
  });

  const kinds: Malformation[] = [
    "not_json",
    "missing_data",
    "wrong_count",
    "non_numeric",
    "bad_index",
    "ragged",
    "missing_usage",
  ];
  it.each(kinds)("a malformed reply (%s) -> 502 skills.upstream_invalid_response, not retried", async (kind) => {
    voyage.malformNext(1, kind);
    const res = await embed({ input: ["one", "two"] });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("skills.upstream_invalid_response");
    expect(voyage.requests).toHaveLength(1);
  });

  it("vectors whose dimension changes between batches -> 502 skills.upstream_invalid_response", async () => {
    // Batches of 2: ["a","b"] answered with 8-dimensional vectors, then ["c"] with a 1-dimensional one.
    voyage.malformNext(1, "ragged", 1);
    const res = await embed({ input: ["a", "b", "c"] }, { VOYAGE_MAX_BATCH: "2" });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("skills.upstream_invalid_response");
    expect(voyage.requests).toHaveLength(2);
  });

  it("the same 1-dimensional reply alone is a consistent answer (the control)", async () => {
    voyage.malformNext(1, "ragged");
    const res = await embed({ input: ["c"] });
    expect(res.status).toBe(200);
    expect(res.body.result.embeddings).toEqual([expectedVector("c").slice(0, 1)]);
  });

  it("no VOYAGE_API_KEY -> 503 skills.not_configured, nothing sent", async () => {
    const res = await withConfig({ VOYAGE_BASE_URL: voyage.url }, async () => {
      expect(config().skills.voyage.apiKey).toBeUndefined();
      return invoke("POST", EXECUTE, { key: agentKey, body: { args: { input: ["one"] } } });
    });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("skills.not_configured");
    expect(voyage.requests).toHaveLength(0);
  });

  it.each([
    [{ input: [] }, "body.args.input"],
    [{ input: ["ok", ""] }, "body.args.input.1"],
    [{ input: "not a list" }, "body.args.input"],
    [{ input: ["ok"], model: "Voyage 3!" }, "body.args.model"],
    [{ input: ["ok"], input_type: "passage" }, "body.args.input_type"],
    [{ input: ["ok"], api_key: "mine" }, "body.args.api_key"],
  ])("bad args %j -> 400 naming %s, nothing sent", async (args, field) => {
    const res = await embed(args);
    expect(res.status).toBe(400);
    expect(res.body.error.details.fields.map((f: { field: string }) => f.field)).toContain(field);
    expect(voyage.requests).toHaveLength(0);
  });
});
