/** Cross-tenant cases of the credits routes (see ../cross-tenant.test.ts). */
import type { Cases } from "./fixture.ts";

export const creditCases: Cases = {};
