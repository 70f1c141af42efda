/** Settings of tenancy (core/tenancy): API key authentication. */
import { declareSettings, int } from "./declare.ts";

// biome-ignore format: one line per setting
export const tenancy = declareSettings("tenancy", {
  authCacheTtlS: int("AUTH_CACHE_TTL_S", 30, "seconds a key lookup is cached in Redis (0 = off); revocation evicts it at once"),
});
