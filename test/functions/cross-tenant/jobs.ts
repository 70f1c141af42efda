/** Cross-tenant cases of the job routes: spawn, simulate, list, get, items, cancel (see ../cross-tenant.test.ts). */
import type { Cases } from "./fixture.ts";

export const jobCases: Cases = {};
