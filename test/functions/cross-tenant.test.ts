/**
 * A key of tenant A never sees or changes a row of tenant B: one case per route of routes.ts,
 * kept per domain under cross-tenant/. The last tests fail when a route is added without a case.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { routeKey, routes } from "../../functions/routes.ts";
import { makeKey, makeTenantWithKeys } from "../factories/tenancy.ts";
import { agentCases } from "./cross-tenant/agents.ts";
import { breakerCases } from "./cross-tenant/breakers.ts";
import { costsimCases } from "./cross-tenant/costsim.ts";
import { creditCases } from "./cross-tenant/credits.ts";
import { failureCases } from "./cross-tenant/failures.ts";
import type { Cases, Fixture } from "./cross-tenant/fixture.ts";
import { jobItemCases } from "./cross-tenant/job-items.ts";
import { jobCases } from "./cross-tenant/jobs.ts";
import { skillCases } from "./cross-tenant/skills.ts";
import { statusHistoryCases } from "./cross-tenant/status-history.ts";
import { statusHistoryExportCases } from "./cross-tenant/status-history-exports.ts";
import { tenancyCases } from "./cross-tenant/tenancy.ts";
import { workflowCases } from "./cross-tenant/workflows.ts";

const cases: Cases = {
  ...tenancyCases,
  ...statusHistoryCases,
  ...statusHistoryExportCases,
  ...skillCases,
  ...breakerCases,
  ...creditCases,
  ...jobCases,
  ...jobItemCases,
  ...workflowCases,
  ...agentCases,
  ...failureCases,
  ...costsimCases,
};

let t: Fixture;
beforeAll(async () => {
  const a = await makeTenantWithKeys();
  const b = await makeTenantWithKeys();
  t = { a, b, bKey: await makeKey({ tenantId: b.tenant.id, role: "agent" }) };
});

describe("cross-tenant access", () => {
  for (const route of routes) {
    const key = routeKey(route);
    it(`${key} never reaches another tenant's data`, async () => {
      const check = cases[key];
      expect(check, `add a cross-tenant case for ${key} under test/functions/cross-tenant/`).toBeDefined();
      await check?.(t);
    });
  }

  it("has no case for a route that no longer exists", () => {
    const keys = new Set(routes.map(routeKey));
    expect(Object.keys(cases).filter((k) => !keys.has(k))).toEqual([]);
  });
});
