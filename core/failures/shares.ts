/**
 * Each catalog entry's share of a skill's recorded failures, with its retry flag: cost
 * simulation's V2 reads the share of a skill's failures a retry may cure (its FailureShare). Misses
 * count in the total and are not listed.
 */
import { useTenant } from "../context.ts";
import { clock } from "../platform/clock.ts";
import { query } from "../platform/db/index.ts";
import * as sql from "./shares.sql.ts";

export interface FailureShare {
  skill: string;
  catalog_entry_id: string;
  /** The entry's failures over all the skill's recorded failures (4 decimals). */
  rate: number;
  is_retryable: boolean;
}

/**
 * The caller's tenant's failure shares of `skills` over the last `days` days.
 *
 * @example
 *   await Failures.failureShares(["slack_send"]); // [{ skill: "slack_send", catalog_entry_id: "upstream_5xx", rate: 0.8, is_retryable: true }]
 */
export async function failureShares(skills: readonly string[], days = 30): Promise<FailureShare[]> {
  if (skills.length === 0) return [];
  const since = new Date(clock().now().getTime() - days * 86_400_000);
  const { rows } = await query<{
    skill: string;
    catalog_entry_id: string | null;
    is_retryable: boolean | null;
    n: number;
    total: number;
  }>(sql.sharesOfSkills, [useTenant(), [...skills], since]);
  return rows.flatMap((r) =>
    r.catalog_entry_id === null
      ? []
      : [
          {
            skill: r.skill,
            catalog_entry_id: r.catalog_entry_id,
            rate: Math.round((r.n / r.total) * 10_000) / 10_000,
            is_retryable: r.is_retryable ?? false,
          },
        ],
  );
}
