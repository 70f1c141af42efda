/**
 * What every cross-tenant case gets: tenant A (whose keys make the calls) and tenant B (whose
 * data must stay out of reach), each with one key of every role, and one more agent key of B.
 * Each domain keeps its cases in a file of this folder, registered in ../cross-tenant.test.ts.
 */
import type { makeTenantWithKeys } from "../../factories/tenancy.ts";

export interface Fixture {
  a: Awaited<ReturnType<typeof makeTenantWithKeys>>;
  b: Awaited<ReturnType<typeof makeTenantWithKeys>>;
  bKey: { key: string; id: string };
}

/** Route key (`GET /api/v1/keys`) -> a check that A cannot see or change B's data through it. */
export type Cases = Record<string, (t: Fixture) => Promise<void>>;
