/** SQL of the failure shares cost simulation calibrates from (shares.ts). */

/**
 * The tenant's (`$1`) recorded failures of skills `$2` since `$3`, per skill and catalog entry
 * (null: a miss), with the entry's retry flag and the skill's total.
 */
export const sharesOfSkills = `
select skill_id as skill, catalog_entry_id, bool_or(is_retryable) as is_retryable, CAST(count(*) AS integer) as n,
  CAST(sum(count(*)) over (partition by skill_id) AS integer) as total
from failure_matches
where tenant_id = $1 and skill_id = any(CAST($2 AS text[])) and created_at >= $3
group by skill_id, catalog_entry_id`;
