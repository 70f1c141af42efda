/**
 * What a step reads before its call: the run (one primary-key read, unlocked) and the step of
 * its definition at the op's index. A definition's steps never change once written (changed
 * steps are a new version, a new row), so they are kept per definition id in the process:
 * a worker reads them once per definition, not the whole (TOASTed) steps array per op.
 */
import { query } from "../platform/db/index.ts";
import type { WorkflowStep } from "./schema.ts";
import type { Locked } from "./step-finish.ts";
import * as sql from "./workflows.sql.ts";

/** Definitions kept at most; the oldest read goes first. */
const MAX_DEFINITIONS = 256;
const stepsOf = new Map<string, readonly WorkflowStep[]>();

/** The run as a step reads it: its credits and its definition's id. */
export type RunAtStep = Locked & { definition_id: string };

/** The step at `opIndex` of a definition this process read already (a chained op's); undefined if not kept. */
export function keptStep(definitionId: string, opIndex: number): WorkflowStep | null | undefined {
  const steps = stepsOf.get(definitionId);
  return steps ? (steps[opIndex] ?? null) : undefined;
}

/**
 * The steps of definition `definitionId` of `tenantId` (none for a definition the tenant does not
 * have), read once per process and kept: a step's and a replay's. Shared: never to be changed.
 */
export async function definitionSteps(definitionId: string, tenantId: string): Promise<readonly WorkflowStep[]> {
  let steps = stepsOf.get(definitionId);
  if (!steps) {
    const d = await query<{ steps: WorkflowStep[] }>(sql.definitionSteps, [definitionId, tenantId]);
    steps = d.rows[0]?.steps;
    if (!steps) return [];
    if (stepsOf.size >= MAX_DEFINITIONS) stepsOf.delete(stepsOf.keys().next().value as string);
    stepsOf.set(definitionId, steps);
  }
  return steps;
}

/**
 * The run (tenant-scoped) and its definition's step at `opIndex` (null past the end); undefined
 * when the tenant has no such run.
 */
export async function readAtStep(
  runId: string,
  tenantId: string,
  opIndex: number,
): Promise<{ run: RunAtStep; step: WorkflowStep | null } | undefined> {
  const { rows } = await query<RunAtStep>(sql.runAtStep, [runId, tenantId]);
  const run = rows[0];
  if (!run) return undefined;
  const steps = await definitionSteps(run.definition_id, tenantId);
  return { run, step: steps[opIndex] ?? null };
}
