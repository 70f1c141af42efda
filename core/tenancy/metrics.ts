/** The tenancy domain's metrics (docs/metrics.md). */
import { counter } from "../platform/metrics/index.ts";

export const tenancyMetrics = {
  authFailures: counter(
    "aos_tenancy_auth_failures_total",
    "API keys refused by reason: invalid (malformed, unknown or wrong secret), revoked, expired, suspended (tenant)",
    ["reason"],
    { allow: { reason: ["invalid", "revoked", "expired", "suspended"] } },
  ),
};
