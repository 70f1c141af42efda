/**
 * The export worker counts each attempt's outcome in `aos_status_history_exports_total`: ready,
 * retried (attempt failed, SQS redelivers) and failed (no attempt left). Real Postgres, s3rver
 * behind a proxy that refuses uploads on demand, the real queue handler.
 */
import { describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { withContext } from "../../core/context.ts";
import * as StatusHistory from "../../core/status-history/index.ts";
import { handler as exportHandler } from "../../functions/queue/status-history-export.ts";
import { invoke, lambdaContext, sqsEvent } from "../events/index.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { withConfig } from "../setup/config-override.ts";
import { startHttpProxy } from "../setup/http-proxy.ts";
import { metricValue } from "../setup/metrics-catalog.ts";

const outcome = (o: string) => metricValue(`aos_status_history_exports_total{outcome="${o}"}`);
const counts = async () => ({
  ready: await outcome("ready"),
  retried: await outcome("retried"),
  failed: await outcome("failed"),
});

describe("export outcome metrics", () => {
  it("counts a ready export once, and a refused upload as retried then failed", async () => {
    const t = await makeTenantWithKeys();
    await withContext({ requestId: "seed", correlationId: "seed", actor: { type: "system", name: "test" } }, () =>
      StatusHistory.record({ tenant_id: t.tenant.id, entity_type: "job", entity_id: "j-1", new_status: "done" }),
    );
    const create = async () => {
      const res = await invoke("POST", "/api/v1/status_history/export", {
        key: t.keys.operator.key,
        body: { format: "csv" },
      });
      expect(res.status, res.text).toBe(202);
      return res.body.id as string;
    };
    const deliver = (exportId: string) =>
      exportHandler(sqsEvent([{ exportId, tenantId: t.tenant.id }]), lambdaContext());

    const before = await counts();
    const ok = await create();
    expect((await deliver(ok)).batchItemFailures).toEqual([]);
    // A duplicate delivery of a ready export does nothing, and counts nothing.
    expect((await deliver(ok)).batchItemFailures).toEqual([]);
    expect(await counts()).toEqual({ ...before, ready: before.ready + 1 });

    const refused = await create();
    const proxy = await startHttpProxy(config().s3.endpoint as string);
    proxy.intercept = (req) =>
      req.method === "PUT"
        ? {
            reply: {
              status: 403,
              headers: { "content-type": "application/xml" },
              body: "<Error><Code>AccessDenied</Code><Message>no</Message></Error>",
            },
          }
        : undefined;
    try {
      await withConfig({ S3_ENDPOINT: proxy.url, EXPORT_MAX_ATTEMPTS: "2" }, async () => {
        expect((await deliver(refused)).batchItemFailures).toHaveLength(1);
        expect(await counts()).toEqual({ ...before, ready: before.ready + 1, retried: before.retried + 1 });
        expect((await deliver(refused)).batchItemFailures).toEqual([]);
      });
    } finally {
      await proxy.close();
    }
    expect(await counts()).toEqual({ ready: before.ready + 1, retried: before.retried + 1, failed: before.failed + 1 });
  });
});
