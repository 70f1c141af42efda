/** Failure catalog entries: the codes of workflows, agents and the blackboard (issues 16 and 17). */
import type { CatalogEntry } from "../entry.ts";

export const domainEntries: readonly CatalogEntry[] = [
  // ---- workflows ----
  {
    id: "workflows.invalid_definition",
    title: "A workflow's steps, references or fork point are not valid",
    category: "validation",
    severity: "low",
    is_retryable: false,
    recovery_mode: "fix_input",
    recovery_suggestion:
      "Fix the fields the 400 names: every step's skill must exist, a `$ref` may name the run's input or an EARLIER step's result only, a fork starts at an op the run has.",
    match: { codes: ["workflows.invalid_steps", "workflows.unresolved_ref", "workflows.invalid_fork"] },
    examples: ["Invalid steps: <s>", "Step <s>: <s> names nothing in the run"],
  },
  {
    id: "workflows.idempotency_key_reused",
    title: "A run's idempotency_key was used for another workflow, version or input",
    category: "validation",
    severity: "low",
    is_retryable: false,
    recovery_mode: "fix_input",
    recovery_suggestion:
      "The same key with the same workflow and input returns the first run; send a new idempotency_key for a new run.",
    match: { codes: ["workflows.idempotency_key_reused"] },
    examples: ["idempotency_key <s> already started run <uuid> with another workflow, version or input"],
  },
  {
    id: "workflows.run_archived",
    title: "The workflow run's ops were archived by retention",
    category: "data",
    severity: "low",
    is_retryable: false,
    recovery_mode: "none",
    recovery_suggestion:
      "The run finished more than WORKFLOW_OPS_RETENTION_DAYS ago; its ops are in the S3 object the error names (JSONL with every hash): verify from that copy (docs/runbooks/workflows.md).",
    match: { codes: ["workflows.run_archived"] },
    examples: ["Workflow run <uuid>: its <n> ops were archived to <s> (retention) and are no longer in the log"],
  },
  {
    id: "workflows.retention_failed",
    title: "Workflow ops retention could not archive some runs",
    category: "upstream",
    severity: "medium",
    is_retryable: true,
    recovery_mode: "retry_later",
    recovery_suggestion:
      "The runs it names keep their ops (nothing is deleted without an export): check S3 and Postgres answer, read the stage of each failure in the cron's log, and let the next daily run (or an invocation of WorkflowRetention) archive them (docs/runbooks/workflows.md).",
    match: { codes: ["workflows.retention_failed"] },
    examples: ["Workflow ops retention: <n> run(s) not archived"],
  },
  {
    id: "workflows.run_not_running",
    title: "The workflow run has already ended",
    category: "data",
    severity: "low",
    is_retryable: false,
    recovery_mode: "none",
    recovery_suggestion: "The run completed, failed or was cancelled before this call: read it (`GET .../runs/{id}`).",
    match: { codes: ["workflows.run_not_running"] },
    examples: ["Workflow run <uuid> is completed"],
  },
  // ---- agents ----
  {
    id: "agents.invoke_timeout",
    title: "The invoked agent did not answer before the deadline",
    category: "upstream",
    severity: "medium",
    is_retryable: true,
    recovery_mode: "retry_later",
    recovery_suggestion:
      "Check the target is receiving (`GET /api/v1/agents/{id}`: stale?) and not dead-lettering (`GET /api/v1/messages/dead`); a late answer is kept on the invoke. Behind API Gateway keep timeout_s at 28 or less.",
    match: { codes: ["agents.invoke_timeout"] },
    examples: ["Invoke <uuid> got no answer within <n> s"],
  },
  {
    id: "agents.state_conflict",
    title: "The invoke or message is not in the state the call needs",
    category: "data",
    severity: "low",
    is_retryable: false,
    recovery_mode: "none",
    recovery_suggestion:
      "An invoke is answered once (the first answer stands); only a dead letter can be replayed. Read it to see its state.",
    match: { codes: ["agents.invoke_answered", "agents.message_not_dead"] },
    examples: ["Invoke <uuid> is already completed", "Message <uuid> is not a dead letter"],
  },
  {
    id: "agents.not_target",
    title: "Only the invoked instance may answer",
    category: "auth",
    severity: "low",
    is_retryable: false,
    recovery_mode: "fix_input",
    recovery_suggestion: "Answer with `X-AOS-Agent-Id` set to the invoke's target instance.",
    match: { codes: ["agents.not_target"] },
    examples: ["Only the target instance may answer invoke <uuid>"],
  },
  // ---- blackboard ----
  {
    id: "blackboard.version_mismatch",
    title: "Compare-and-set lost: the entry changed since it was read",
    category: "concurrency",
    severity: "low",
    is_retryable: false,
    recovery_mode: "fix_input",
    recovery_suggestion:
      "Read the entry again (its version is in the 409 and in GET), apply the change to the new value, write with that if_version.",
    match: { codes: ["blackboard.version_mismatch"] },
    examples: ["<s>/<s> is at version <n>, not <n>"],
  },
  {
    id: "blackboard.not_a_number",
    title: "incr on a blackboard entry that is not a number",
    category: "validation",
    severity: "low",
    is_retryable: false,
    recovery_mode: "fix_input",
    recovery_suggestion: "incr adds to numeric entries only: write a number first, or incr another key.",
    match: { codes: ["blackboard.not_a_number"] },
    examples: ["<s>/<s>: the value is not a number"],
  },
];
