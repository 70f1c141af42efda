/**
 * The failure catalog: every failure AOS knows, as data reviewed like code. Each entry's `id` is
 * stable (stored in failure_matches.catalog_entry_id); a new AppError code needs an entry listing
 * it in `match.codes` (test/unit/failure-catalog.test.ts fails otherwise).
 *
 * Loaded lazily (`import("./catalog/index.ts")`, core/failures/classify.ts) only on a failing
 * path, so a handler that never fails does not parse it.
 */
import type { CatalogEntry } from "../entry.ts";
import { aosEntries } from "./aos.ts";
import { domainEntries } from "./domains.ts";
import { infrastructureEntries } from "./infrastructure.ts";
import { upstreamEntries } from "./upstream.ts";

export const catalog: readonly CatalogEntry[] = [
  ...aosEntries,
  ...domainEntries,
  ...infrastructureEntries,
  ...upstreamEntries,
];
