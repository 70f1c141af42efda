/** Cross-tenant cases of claiming and item routes: claim, heartbeat, complete, fail (see ../cross-tenant.test.ts). */
import type { Cases } from "./fixture.ts";

export const jobItemCases: Cases = {};
