/**
 * Definitions: register a workflow (a new version when its steps change, the latest again when
 * they do not), read one, list them. Registration checks every step: the skill exists, step ids
 * are unique, each `$ref` names the input or an EARLIER step, and the args pass the skill's input
 * schema as far as they are known (a field filled by a `$ref` is checked when the step runs).
 */
import { actorName, useActor, useTenant } from "../context.ts";
import { AppError, type FieldIssue, ValidationError } from "../errors.ts";
import { query, withTx } from "../platform/db/index.ts";
import { decodeCursor, type Page, toPage } from "../platform/pagination.ts";
import { refIssue, refsIn } from "../platform/step-refs.ts";
import * as Skills from "../skills/index.ts";
import * as Tenancy from "../tenancy/index.ts";
import { hashJson } from "./audit.ts";
import { WorkflowNotFoundError } from "./errors.ts";
import type { WorkflowListQuery, WorkflowRecord, WorkflowRegister, WorkflowStep } from "./schema.ts";
import * as sql from "./workflows.sql.ts";

type DefinitionRow = Omit<WorkflowRecord, "versions">;

/** A skill's spec, or null for a name no skill has. */
function specOf(name: string): ReturnType<typeof Skills.spec> | null {
  try {
    return Skills.spec(name);
  } catch (e) {
    if (e instanceof AppError && e.code === "skills.not_found") return null;
    throw e;
  }
}

/** Every problem of the steps, each naming its field (`body.steps.<n>.<field>`). */
export function stepIssues(steps: readonly WorkflowStep[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const all = new Set(steps.map((s) => s.id));
  const earlier = new Set<string>();
  steps.forEach((step, n) => {
    const at = `body.steps.${n}`;
    if (earlier.has(step.id)) issues.push({ field: `${at}.id`, message: `step id ${step.id} is used twice` });
    const refs = refsIn(step.args, `${at}.args`);
    for (const r of refs) {
      const issue = refIssue(r.ref, r.field, earlier, all);
      if (issue) issues.push(issue);
    }
    const spec = specOf(step.skill);
    if (!spec) issues.push({ field: `${at}.skill`, message: `no skill is named ${JSON.stringify(step.skill)}` });
    else {
      try {
        Skills.validateArgs(step.skill, step.args, `${at}.args`);
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e;
        const fields = (e.details as { fields?: FieldIssue[] } | undefined)?.fields ?? [];
        // A field a $ref fills (or anything under it) is only known when the step runs.
        const filled = (f: string) => refs.some((r) => f === r.field || f.startsWith(`${r.field}.`));
        for (const f of fields) if (!filled(f.field)) issues.push(f);
      }
    }
    earlier.add(step.id);
  });
  return issues;
}

/** The versions of these names, oldest first. */
async function versionsOf(tenantId: string, names: readonly string[]): Promise<Map<string, number[]>> {
  if (names.length === 0) return new Map();
  const { rows } = await query<{ name: string; versions: number[] }>(sql.versionsOf, [tenantId, names]);
  return new Map(rows.map((r) => [r.name, r.versions]));
}

/**
 * Register `body` for the context's tenant: `created` false when its steps are the latest
 * version's (that version is answered), else version n + 1. Throws a ValidationError (400) naming
 * every bad step field, having written nothing.
 *
 * @example
 *   const { workflow } = await Workflows.register({ name: "greet", steps: [{ id: "get", skill: "kv_store",
 *     args: { op: "get", key: { $ref: "input.key" } } }] });
 */
export async function register(body: WorkflowRegister): Promise<{ workflow: WorkflowRecord; created: boolean }> {
  const tenantId = useTenant();
  const issues = stepIssues(body.steps);
  if (issues.length > 0)
    throw new ValidationError(
      `Invalid steps: ${[...new Set(issues.map((i) => i.field))].join(", ")}`,
      issues.slice(0, 50),
      "workflows.invalid_steps",
    );
  const stepsHash = hashJson(body.steps);
  const { row, created } = await withTx(async () => {
    await query(sql.lockName, [tenantId, body.name]);
    const { rows } = await query<DefinitionRow>(sql.getDefinition, [tenantId, body.name, null]);
    const latest = rows[0];
    if (latest && latest.steps_hash === stepsHash) return { row: latest, created: false };
    const inserted = await query<DefinitionRow>(sql.insertDefinition, [
      tenantId,
      body.name,
      (latest?.version ?? 0) + 1,
      JSON.stringify(body.steps),
      stepsHash,
      actorName(useActor()),
    ]);
    return { row: inserted.rows[0] as DefinitionRow, created: true };
  });
  const versions = (await versionsOf(tenantId, [row.name])).get(row.name) ?? [row.version];
  return { workflow: { ...row, versions }, created };
}

/** A definition of the tenant (the latest version, or `version`); WorkflowNotFoundError otherwise. */
export async function definition(tenantId: string, name: string, version?: number): Promise<DefinitionRow> {
  const { rows } = await query<DefinitionRow>(sql.getDefinition, [tenantId, name, version ?? null]);
  if (!rows[0]) throw new WorkflowNotFoundError(name, version);
  return rows[0];
}

/** One workflow of the caller's tenant (an admin may name another), with its versions. */
export async function getWorkflow(name: string, q: { version?: number | undefined; tenant?: string | undefined }) {
  const tenantId = await Tenancy.resolveTenant(q.tenant);
  const row = await definition(tenantId, name, q.version);
  const versions = (await versionsOf(tenantId, [name])).get(name) ?? [row.version];
  return { ...row, versions };
}

/** The tenant's workflows by name, each at its latest version (keyset pagination on the name). */
export async function listWorkflows(q: WorkflowListQuery): Promise<Page<WorkflowRecord>> {
  const tenantId = await Tenancy.resolveTenant(q.tenant);
  const after = decodeCursor(q.cursor, [(v: unknown): v is string => typeof v === "string" && v.length <= 63]);
  const { rows } = await query<DefinitionRow>(sql.listDefinitions, [tenantId, after?.[0] ?? null, q.limit + 1]);
  const versions = await versionsOf(
    tenantId,
    rows.map((r) => r.name),
  );
  const records = rows.map((r) => ({ ...r, versions: versions.get(r.name) ?? [r.version] }));
  return toPage(records, q.limit, (r) => [r.name]);
}
