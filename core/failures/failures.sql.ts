/** SQL of the failure catalog: failure_matches (migration 0015). */

/** One failure record; its own id makes a second write (the queued copy) a no-op. */
export const insertFailure = `
insert into failure_matches (
  id, run_id, tenant_id, error_code, error_message, catalog_entry_id, match_type, match_confidence,
  category, severity, is_retryable, recovery_mode, recovery_suggestion, skill_id, step_index,
  context_json, created_at, updated_at)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, CAST($16 AS jsonb), $17, $17)
on conflict (id) do nothing`;
