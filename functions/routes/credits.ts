/** Credits (core/credits): grants, balances and the ledger. */
import { type DomainRoutes, httpRoutes } from "./declare.ts";

export const credits: DomainRoutes = {
  // biome-ignore format: one line per route
  routes: httpRoutes("credits", [
    ["POST /api/v1/credits/grants", "grant", "admin", "Grant credits to a tenant (its own when tenant is absent)"],
    ["GET /api/v1/credits", "get", "viewer", "The tenant's balance, reserved and available credits"],
    ["GET /api/v1/credits/ledger", "ledger", "viewer", "The tenant's credit ledger, newest first (keyset pagination)"],
  ]),
};
