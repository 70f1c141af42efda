/**
 * The failure catalog and its matcher: every AppError code AOS emits has an entry (this fails when
 * AOS gains a code no entry lists), the upstream shapes skills meet are told apart, each tier
 * explains itself, similarity never crosses categories, and a weak match is a miss.
 */
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { scanErrorCodes } from "../../cli/error-codes.ts";
import { AppError, ValidationError } from "../../core/errors.ts";
import { catalog } from "../../core/failures/catalog/index.ts";
import { classify, classifyFields } from "../../core/failures/classify.ts";
import { FAILURE_CATEGORIES, RECOVERY_MODES, SEVERITIES } from "../../core/failures/entry.ts";
import { MISS_MAX_ATTEMPTS, retryDecision } from "../../core/failures/retry-decision.ts";
import { normaliseMessage } from "../../core/failures/signal.ts";
import { UpstreamError } from "../../core/skills/errors.ts";
import { withRetries } from "../../core/skills/retry.ts";
import { metricValue } from "../setup/metrics-catalog.ts";

/** A real ECONNREFUSED: a port that was listening a moment ago and is closed now. */
async function refusedError(): Promise<Error> {
  const { createServer } = await import("node:net");
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.on("error", (e) => resolve(e));
  });
}

describe("the catalog", () => {
  it("has at least 40 entries with unique ids and valid fields", () => {
    expect(catalog.length).toBeGreaterThanOrEqual(40);
    expect(new Set(catalog.map((e) => e.id)).size).toBe(catalog.length);
    for (const e of catalog) {
      expect(FAILURE_CATEGORIES, e.id).toContain(e.category);
      expect(SEVERITIES, e.id).toContain(e.severity);
      expect(RECOVERY_MODES, e.id).toContain(e.recovery_mode);
      expect(e.recovery_suggestion.length, e.id).toBeGreaterThan(20);
      expect(e.examples.length, e.id).toBeGreaterThan(0);
      expect(e.id.length, e.id).toBeLessThanOrEqual(100);
      for (const p of [...(e.match.messagePatterns ?? []), ...(e.match.bodyPatterns ?? [])])
        expect(() => new RegExp(p)).not.toThrow();
      if (e.backoff) expect(e.is_retryable, `${e.id} has a backoff but is not retryable`).toBe(true);
    }
  });

  it("lists every error code AOS emits (docs/errors.md's scan): an exact-code match for each", async () => {
    const codes = (await scanErrorCodes()).map((c) => c.code);
    expect(codes.length).toBeGreaterThan(80);
    const uncovered: string[] = [];
    for (const code of codes) {
      const m = await classifyFields({ code, message: "whatever it says" });
      if (m.match_type !== "exact_code" || !m.catalog_entry_id) uncovered.push(code);
    }
    expect(uncovered, "codes without a catalog entry: add them to core/failures/catalog/index.ts").toEqual([]);
  });

  it("a code AOS does not know is not an exact match", async () => {
    const m = await classifyFields({ code: "things.exploded", message: "it exploded" });
    expect(m.match_type).not.toBe("exact_code");
  });
});

describe("exact code with its rules: the upstream shapes", () => {
  const upstream = (target: string, status: number, code?: string) =>
    new UpstreamError(target, `${target} answered ${status}`, {
      retryable: status >= 500 || status === 429 || status === 408,
      status,
      ...(code ? { code } : {}),
    });

  it.each([
    ["slack", 429, undefined, "slack.rate_limited"],
    ["voyage", 429, undefined, "voyage.rate_limited"],
    ["hooks.example.com", 429, undefined, "upstream.rate_limited"],
    ["hooks.example.com", 503, undefined, "upstream.unavailable"],
    ["hooks.example.com", 500, undefined, "upstream.server_error"],
    ["hooks.example.com", 502, undefined, "upstream.server_error"],
    ["hooks.example.com", 408, undefined, "upstream.request_timeout"],
    ["voyage", 401, "skills.upstream_rejected", "voyage.invalid_key"],
    ["voyage", 400, "skills.upstream_rejected", "voyage.bad_request"],
    ["hooks.example.com", 403, "skills.upstream_rejected", "upstream.auth_rejected"],
    ["hooks.example.com", 404, "skills.upstream_rejected", "upstream.rejected"],
  ])("%s answering %i is %s", async (target, status, code, id) => {
    const m = await classify(upstream(target, status, code));
    expect(m).toMatchObject({ catalog_entry_id: id, match_type: "exact_code" });
    expect(m.match_confidence).toBe(1);
    expect(m.explanation).toContain(String(status));
  });

  it("Slack's reply words pick the Slack entry (webhook revoked, channel archived, bad payload)", async () => {
    for (const [body, id] of [
      ["invalid_token", "slack.webhook_revoked"],
      ["channel_is_archived", "slack.channel_unavailable"],
      ["invalid_blocks", "slack.invalid_payload"],
    ]) {
      const m = await classifyFields({
        code: "skills.upstream_rejected",
        status: 403,
        target: "slack",
        body,
        message: "slack refused the request (403)",
      });
      expect(m.catalog_entry_id, body).toBe(id);
    }
  });

  it("the cause refines a shared code: DNS, TLS and refused connections are different entries", async () => {
    const unreachable = (cause: unknown) =>
      new UpstreamError("hooks.example.com", "hooks.example.com could not be reached", {
        retryable: true,
        code: "skills.upstream_unreachable",
        cause,
      });
    const dns = Object.assign(new Error("getaddrinfo ENOTFOUND hooks.example.com"), { code: "ENOTFOUND" });
    const tls = Object.assign(new Error("certificate has expired"), { code: "CERT_HAS_EXPIRED" });
    expect((await classify(unreachable(dns))).catalog_entry_id).toBe("network.dns_not_found");
    expect((await classify(unreachable(tls))).catalog_entry_id).toBe("network.tls_error");
    expect((await classify(unreachable(await refusedError()))).catalog_entry_id).toBe("upstream.connection_refused");
    expect((await classify(unreachable(new Error("odd")))).catalog_entry_id).toBe("upstream.unreachable");
  });
});

describe("kind and cause chain", () => {
  it("a raw ECONNREFUSED (provoked on loopback) matches on its code, with the chain position explained", async () => {
    const m = await classify(await refusedError());
    expect(m).toMatchObject({ catalog_entry_id: "upstream.connection_refused", match_type: "kind_cause" });
    expect(m.explanation).toContain("ECONNREFUSED on the error");
    const wrapped = new Error("job item failed", { cause: new Error("send failed", { cause: await refusedError() }) });
    const w = await classify(wrapped);
    expect(w).toMatchObject({ catalog_entry_id: "upstream.connection_refused", match_type: "kind_cause" });
    expect(w.explanation).toContain("cause #2");
  });

  it("a Postgres SQLSTATE deep in the chain (57P01) is the database going away", async () => {
    const pgErr = Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" });
    const m = await classify(new Error("claim failed", { cause: pgErr }));
    expect(m).toMatchObject({ catalog_entry_id: "infra.postgres_unavailable", match_type: "kind_cause" });
  });

  it("an AggregateError's errors are links of the chain", async () => {
    const agg = new AggregateError([await refusedError()], "");
    expect((await classify(agg)).catalog_entry_id).toBe("upstream.connection_refused");
  });
});

describe("normalised message patterns", () => {
  it("normalises ids, uuids, numbers, urls, addresses and quoted text", () => {
    expect(
      normaliseMessage(
        'Job 5f0c2a8e-1b2c-4d3e-8f9a-0b1c2d3e4f5a at https://x.example/a?b=1 from 10.0.0.7:5432 said "no" after 250 ms (deadbeefcafe1234)',
      ),
    ).toBe("job <uuid> at <url> from <addr> said <s> after <n> ms (<hex>)");
  });

  it("matches a message with no code: Postgres dropping the connection", async () => {
    const m = await classify(new Error("Connection terminated unexpectedly"));
    expect(m).toMatchObject({ catalog_entry_id: "infra.postgres_unavailable", match_type: "message_pattern" });
    expect(m.match_confidence).toBe(0.8);
  });

  it("a status in the message must agree with the entry's status rule", async () => {
    expect((await classifyFields({ message: "webhook answered 429" })).catalog_entry_id).toBe("upstream.rate_limited");
    expect((await classifyFields({ message: "webhook answered 503" })).catalog_entry_id).toBe("upstream.unavailable");
  });
});

describe("similarity, confidence and misses", () => {
  it("a similar message of the category the kind allows is a similarity match below 0.8", async () => {
    const e = new AppError("unauthorized", "auth.session_expired", "The API key has expired today");
    const m = await classify(e);
    expect(m).toMatchObject({ catalog_entry_id: "auth.key_expired", match_type: "similarity" });
    expect(m.match_confidence).toBeGreaterThanOrEqual(0.6);
    expect(m.match_confidence).toBeLessThan(0.8);
    expect(m.explanation).toContain("kind unauthorized");
  });

  it("never matches across categories on similarity alone: the kind rules the nearest entry out", async () => {
    // Worded like capacity.db_timeout's example, but a validation error says it is not that.
    const e = new ValidationError("The database took too long to answer", [], "things.refused");
    const m = await classify(e);
    expect(m.catalog_entry_id === null || m.entry?.category === "validation" || m.entry?.category === "data").toBe(
      true,
    );
    expect(m.catalog_entry_id).not.toBe("capacity.db_timeout");
  });

  it("with no evidence of a category, similarity alone is a miss that names its nearest entry", async () => {
    const m = await classifyFields({ message: "the database took too long" });
    expect(m).toMatchObject({ catalog_entry_id: null, match_type: "miss" });
    expect(m.explanation).toContain("capacity.db_timeout");
  });

  it("below the minimum confidence the best candidate is reported as a miss, not a guess", async () => {
    const m = await classify(new Error("Connection terminated unexpectedly"), 0.95);
    expect(m).toMatchObject({ catalog_entry_id: null, match_type: "miss", match_confidence: 0.8 });
    expect(m.explanation).toContain("infra.postgres_unavailable");
    expect(m.explanation).toContain("below the minimum 0.95");
  });

  it("nothing at all: a miss with confidence 0", async () => {
    const m = await classifyFields({ message: "zzz qqq" });
    expect(m).toEqual({
      catalog_entry_id: null,
      match_type: "miss",
      match_confidence: 0,
      explanation: "no entry lists its code, causes or message",
    });
  });
});

describe("the catalog decides retries", () => {
  const policy = { maxAttempts: 4, baseMs: 1, maxMs: 2, retryAfterMaxS: 1 };
  const attempts = async (error: () => Error) => {
    let calls = 0;
    await withRetries({ runId: "r", opIndex: 0, step: 0 }, policy, async () => {
      calls++;
      throw error();
    }).catch(() => undefined);
    return calls;
  };

  it("a TLS failure the skill marks retryable is not retried: its entry says fix_config", async () => {
    const tls = () =>
      new UpstreamError("hooks.example.com", "hooks.example.com could not be reached", {
        retryable: true,
        code: "skills.upstream_unreachable",
        cause: Object.assign(new Error("certificate has expired"), { code: "CERT_HAS_EXPIRED" }),
      });
    expect(await retryDecision(tls(), { retryable: true, maxAttempts: 4 })).toMatchObject({
      retryable: false,
      catalog_entry_id: "network.tls_error",
    });
    expect(await attempts(tls)).toBe(1);
  });

  it("an entry's backoff overrides the policy's (Slack 429: its own attempts and schedule)", async () => {
    const d = await retryDecision(new UpstreamError("slack", "slack answered 429", { retryable: true, status: 429 }), {
      retryable: true,
      maxAttempts: 3,
    });
    expect(d).toMatchObject({ retryable: true, maxAttempts: 4, backoff: { baseMs: 1000, maxMs: 30_000 } });
  });

  it("an entry never forces a retry the error itself refuses", async () => {
    const d = await retryDecision(new UpstreamError("slack", "slack answered 503", { retryable: false, status: 503 }), {
      retryable: false,
      maxAttempts: 3,
    });
    expect(d).toMatchObject({ retryable: false, catalog_entry_id: "upstream.unavailable" });
  });

  it("a failure no entry matches is retried once at most, and counted as a miss", async () => {
    const odd = () => new AppError("unavailable", "things.wobbly", "zzz qqq", { retryable: true });
    expect(await retryDecision(odd(), { retryable: true, maxAttempts: 4 })).toMatchObject({
      retryable: true,
      maxAttempts: MISS_MAX_ATTEMPTS,
      catalog_entry_id: null,
    });
    const before = await metricValue("aos_failure_retry_misses_total");
    expect(await attempts(odd)).toBe(2);
    // Two decisions: retry after the first failure, stop after the second.
    expect(await metricValue("aos_failure_retry_misses_total")).toBe(before + 2);
  });
});
