/**
 * What a catalog entry is: a known failure, how to recognise it and what to do about it. The
 * entries themselves are data (catalog.ts), reviewed like code.
 */

/** What kind of trouble: decides who acts (the caller, an operator, nobody). */
export const FAILURE_CATEGORIES = [
  "network",
  "upstream",
  "rate_limit",
  "auth",
  "validation",
  "config",
  "capacity",
  "data",
  "concurrency",
  "internal",
] as const;
export type FailureCategory = (typeof FAILURE_CATEGORIES)[number];

export const SEVERITIES = ["low", "medium", "high", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** What recovers it: retry now (with backoff), retry later, fix a setting, fix the input, call someone, nothing. */
export const RECOVERY_MODES = ["retry", "retry_later", "fix_config", "fix_input", "escalate", "none"] as const;
export type RecoveryMode = (typeof RECOVERY_MODES)[number];

/** How a match was found, strongest first; `miss` when nothing reached the minimum confidence. */
export const MATCH_TYPES = ["exact_code", "kind_cause", "message_pattern", "similarity", "miss"] as const;
export type MatchType = (typeof MATCH_TYPES)[number];

/** A retry schedule of its own, for failures whose upstream asks for more patience than the default. */
export interface Backoff {
  baseMs: number;
  maxMs: number;
  /** Attempts in all, the first included. */
  maxAttempts: number;
}

/**
 * How an entry recognises a failure. Tier 1 (`exact_code`): the error's code is in `codes` and
 * every other rule given here holds (the entry with the most rules wins). Tier 2 (`kind_cause`):
 * a code or error name somewhere on the cause chain is in `causeCodes` (and the kind is one of
 * `kinds` when given). Tier 3 (`message_pattern`): a pattern matches the normalised message.
 * Patterns are regular expression sources, matched case-insensitively.
 */
export interface MatchRules {
  codes?: readonly string[];
  /** Upstream HTTP statuses (the error's `upstream_status`). */
  statuses?: readonly number[];
  /** Inclusive range of upstream statuses. */
  statusRange?: readonly [number, number];
  /** Skill targets (`slack`, `voyage`, a webhook's host). */
  targets?: readonly string[];
  /** Patterns on the upstream's reply body (Slack answers `invalid_token`, Voyage `{"detail": ...}`). */
  bodyPatterns?: readonly string[];
  /** Node error codes, SQLSTATEs or error names anywhere on the cause chain. */
  causeCodes?: readonly string[];
  /** Error kinds (core/errors.ts) this entry can be. */
  kinds?: readonly string[];
  /** Patterns on the normalised message (tier 3). */
  messagePatterns?: readonly string[];
}

export interface CatalogEntry {
  /** Stable: stored in failure_matches.catalog_entry_id; never reused for another failure. */
  id: string;
  title: string;
  category: FailureCategory;
  severity: Severity;
  is_retryable: boolean;
  recovery_mode: RecoveryMode;
  /** What an operator (or the caller) does about it, concretely. */
  recovery_suggestion: string;
  /** A retry schedule overriding the skill's default (SKILL_RETRY_*). */
  backoff?: Backoff;
  match: MatchRules;
  /** Messages as this failure writes them: the similarity tier's references. */
  examples: readonly string[];
}
