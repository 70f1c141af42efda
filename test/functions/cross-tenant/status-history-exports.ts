/** Cross-tenant cases of the status history export routes (see ../cross-tenant.test.ts). */
import { expect } from "vitest";
import { withContext } from "../../../core/context.ts";
import * as StatusHistory from "../../../core/status-history/index.ts";
import { handler as exportHandler } from "../../../functions/queue/status-history-export.ts";
import { invoke, lambdaContext, sqsEvent } from "../../events/index.ts";
import type { Cases, Fixture } from "./fixture.ts";

/** A ready export of tenant B (made by B's operator, run by the queue handler). */
async function exportOfB({ b }: Fixture): Promise<string> {
  const res = await invoke("POST", "/api/v1/status_history/export", {
    key: b.keys.operator.key,
    body: { format: "csv" },
  });
  expect(res.status).toBe(202);
  const done = await exportHandler(sqsEvent([{ exportId: res.body.id, tenantId: b.tenant.id }]), lambdaContext());
  expect(done.batchItemFailures).toEqual([]);
  return res.body.id;
}

export const statusHistoryExportCases: Cases = {
  "POST /api/v1/status_history/export": async ({ a, b }) => {
    await withContext({ requestId: "x", correlationId: "x", actor: { type: "system", name: "test" } }, () =>
      StatusHistory.record(
        [a, b].map((x) => ({ tenant_id: x.tenant.id, entity_type: "job", entity_id: "j", new_status: "done" })),
      ),
    );
    for (const tenant of [b.tenant.slug, b.tenant.id]) {
      const res = await invoke("POST", "/api/v1/status_history/export", {
        key: a.keys.operator.key,
        body: { format: "csv", tenant },
      });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("auth.cross_tenant");
    }
    const own = await invoke("POST", "/api/v1/status_history/export", {
      key: a.keys.operator.key,
      body: { format: "csv" },
    });
    expect(own.status).toBe(202);
    expect(own.body.tenant_id).toBe(a.tenant.id);
    // The worker exports A's rows only, whatever else the table holds.
    await exportHandler(sqsEvent([{ exportId: own.body.id, tenantId: a.tenant.id }]), lambdaContext());
    const link = await invoke("GET", `/api/v1/status_history/download/${own.body.id}`, { key: a.keys.viewer.key });
    const file = await (await fetch(link.headers.location as string)).text();
    expect(file).toContain(a.tenant.id);
    expect(file).not.toContain(b.tenant.id);
    // A message naming B's tenant for A's export finds nothing to run.
    const forged = await exportHandler(sqsEvent([{ exportId: own.body.id, tenantId: b.tenant.id }]), lambdaContext());
    expect(forged.batchItemFailures).toEqual([]);
  },
  "GET /api/v1/status_history/exports/{id}": async (t) => {
    const { a, b } = t;
    const id = await exportOfB(t);
    for (const key of [a.keys.viewer.key, a.keys.operator.key]) {
      const res = await invoke("GET", `/api/v1/status_history/exports/${id}`, { key });
      expect(res.status).toBe(404);
      expect(JSON.stringify(res.body)).not.toContain(b.tenant.id);
    }
    const named = await invoke("GET", `/api/v1/status_history/exports/${id}`, {
      key: a.keys.operator.key,
      query: { tenant: b.tenant.slug },
    });
    expect(named.status).toBe(403);
    expect(named.body.error.code).toBe("auth.cross_tenant");
    expect((await invoke("GET", `/api/v1/status_history/exports/${id}`, { key: b.keys.viewer.key })).status).toBe(200);
  },
  "GET /api/v1/status_history/download/{id}": async (t) => {
    const { a, b } = t;
    const id = await exportOfB(t);
    const res = await invoke("GET", `/api/v1/status_history/download/${id}`, { key: a.keys.viewer.key });
    expect(res.status).toBe(404);
    expect(res.headers.location).toBeUndefined();
    const named = await invoke("GET", `/api/v1/status_history/download/${id}`, {
      key: a.keys.viewer.key,
      query: { tenant: b.tenant.id },
    });
    expect(named.status).toBe(403);
    expect(named.body.error.code).toBe("auth.cross_tenant");
    expect((await invoke("GET", `/api/v1/status_history/download/${id}`, { key: b.keys.viewer.key })).status).toBe(302);
  },
};
