/**
 * The HTTP edge of `npm start` with the real route table: 405 with Allow for a method a path lacks
 * (also where a less specific path has it: `GET /api/v1/jobs/simulate`), HEAD answered like GET
 * without a body, a URL over 16 KB answered in the error envelope, 400 messages in AOS's words.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as fallback } from "../../functions/http/fallback.ts";
import { handler as healthHandler } from "../../functions/http/health/get.ts";
import { handler as keysList } from "../../functions/http/keys/list.ts";
import { httpEvent, lambdaContext } from "../events/index.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { type LocalApi, startLocalApi } from "../setup/local-api.ts";

let api: LocalApi;
let t: Awaited<ReturnType<typeof makeTenantWithKeys>>;
beforeAll(async () => {
  api = await startLocalApi();
  t = await makeTenantWithKeys();
});
afterAll(() => api.close());

const auth = () => ({ authorization: `Bearer ${t.keys.admin.key}` });

describe("methods", () => {
  it("GET /api/v1/jobs/simulate is a 405 naming POST, not a bad id for GET /api/v1/jobs/{id}", async () => {
    const r = await api.call("GET", "/api/v1/jobs/simulate", { headers: auth() });
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe("POST");
    expect(r.json.error.code).toBe("method_not_allowed");
    const post = await api.call("POST", "/api/v1/jobs/simulate", {
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify({ task: "external", items: [{ input: {} }] }),
    });
    expect(post.status).toBe(200);
  });

  it("a wrong method on an existing path is a 405 with Allow and the envelope", async () => {
    for (const [method, path, allow] of [
      ["PUT", "/api/v1/jobs", "GET, HEAD, POST"],
      ["DELETE", "/health", "GET, HEAD"],
      ["GET", "/api/v1/keys/0193a5d2-7c4e-7000-8000-000000000001", "DELETE"],
      ["PATCH", "/api/v1/items/complete", "POST"],
    ] as const) {
      const r = await api.call(method, path, { headers: auth() });
      expect(r.status, `${method} ${path}`).toBe(405);
      expect(r.headers.allow).toBe(allow);
      expect(r.json).toEqual({
        error: {
          code: "method_not_allowed",
          message: expect.any(String),
          details: null,
          requestId: expect.any(String),
        },
      });
    }
  });

  it("in a deployment, the $default route's function answers what npm start answers: 405 with Allow, or 404", async () => {
    // API Gateway sends it every request no route of its method matches.
    const call = async (method: string, path: string) => {
      const r = await fallback({ ...httpEvent(method, path), routeKey: "$default" }, lambdaContext());
      if (typeof r !== "object") throw new Error("no structured reply");
      return { status: r.statusCode, allow: r.headers?.allow, body: JSON.parse(String(r.body)) };
    };
    for (const [method, path, allow] of [
      ["PUT", "/api/v1/jobs", "GET, HEAD, POST"],
      ["DELETE", "/health", "GET, HEAD"],
      ["GET", "/api/v1/keys/0193a5d2-7c4e-7000-8000-000000000001", "DELETE"],
      // HEAD on a path without GET (HEAD beside a GET goes to the GET's function).
      ["HEAD", "/api/v1/items/complete", "POST"],
    ] as const) {
      const r = await call(method, path);
      expect([r.status, r.allow], `${method} ${path}`).toEqual([405, allow]);
      expect(r.body).toEqual({
        error: {
          code: "method_not_allowed",
          message: expect.any(String),
          details: null,
          requestId: expect.any(String),
        },
      });
    }
    const none = await call("GET", "/api/v2/nothing");
    expect([none.status, none.body.error.code, none.allow]).toEqual([404, "not_found", undefined]);
  });

  it("in a deployment, a GET route's function answers its HEAD route as its GET, without a body", async () => {
    const get = await healthHandler(httpEvent("GET", "/health"), lambdaContext());
    const head = await healthHandler({ ...httpEvent("GET", "/health"), routeKey: "HEAD /health" }, lambdaContext());
    expect([head.statusCode, head.body]).toEqual([get.statusCode, ""]);
    expect(head.headers?.["content-type"]).toBe("application/json");
    expect(JSON.parse(String(get.body)).status).toEqual(expect.any(String));
    // A GET that needs a key keeps its role through HEAD: no key, 401 (without a body).
    const keys = await keysList(
      { ...httpEvent("GET", "/api/v1/keys"), routeKey: "HEAD /api/v1/keys" },
      lambdaContext(),
    );
    expect([keys.statusCode, keys.body]).toEqual([401, ""]);
  });

  it("HEAD /health answers as GET does, without a body", async () => {
    const get = await api.call("GET", "/health");
    const head = await api.call("HEAD", "/health");
    expect(get.status).toBe(200);
    expect(head.status).toBe(200);
    expect(head.headers["content-type"]).toBe("application/json");
    expect(head.headers["cache-control"]).toBe("no-store");
    expect(head.text).toBe("");
  });
});

describe("limits and messages", () => {
  it("a URL over 16 KB is a 431 in the error envelope", async () => {
    const r = await api.call("GET", `/api/v1/jobs?status=${"x".repeat(17 * 1024)}`, { headers: auth() });
    expect(r.status).toBe(431);
    expect(r.json.error).toMatchObject({ code: "headers_too_large", details: null });
  });

  it("400s speak AOS's words: a bad id, a bad enum, a number out of range, a missing field", async () => {
    const bad = await api.call("GET", "/api/v1/jobs/not-a-uuid", { headers: auth() });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.fields).toEqual([{ field: "path.id", message: "must be a UUID" }]);
    const list = await api.call("GET", "/api/v1/jobs?status=done&limit=1e400", { headers: auth() });
    expect(list.json.error.details.fields).toEqual([
      { field: "query.limit", message: "must be a finite number" },
      { field: "query.status", message: "must be one of: running, completed, failed, cancelled" },
    ]);
    const grant = await api.call("POST", "/api/v1/credits/grants", {
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify({ amount: 1e300 }),
    });
    expect(grant.json.error.details.fields).toEqual([
      { field: "body.amount", message: "must be at most 1000000000000" },
      { field: "body.reason", message: "required" },
    ]);
  });
});
