/**
 * What the replay verifier learns once from a definition's steps, kept per steps array (a
 * definition's steps are cached per process, step-read.ts): which steps' args hold a `$ref`, the
 * hash of each other step's args, and which steps' results a `$ref` names.
 */

import { refsIn } from "../platform/step-refs.ts";
import { hashJson } from "./audit.ts";
import type { WorkflowStep } from "./schema.ts";

/** What a definition's steps say once, kept per steps array (a definition's are cached: step-read.ts). */
export interface Plan {
  /** Per step: its args hold a `$ref` (else they are the op's args as they are). */
  refs: boolean[];
  /** Per step without a ref: the hash of its args, computed once. */
  argsHash: (string | undefined)[];
  /** The step ids some step's `$ref` names: only their results are kept for resolving. */
  referenced: Set<string>;
}

const plans = new WeakMap<readonly WorkflowStep[], Plan>();
const STEP_REF = /^steps\.([^.]+)\.result/;

/** The plan of `steps`, made on first use and kept while the array lives. */
export function planOf(steps: readonly WorkflowStep[]): Plan {
  let plan = plans.get(steps);
  if (!plan) {
    const referenced = new Set<string>();
    const refs = steps.map((s) => {
      const found = refsIn(s.args, "");
      for (const r of found) {
        const m = STEP_REF.exec(r.ref);
        if (m) referenced.add(m[1] as string);
      }
      return found.length > 0;
    });
    plan = { refs, argsHash: [], referenced };
    plans.set(steps, plan);
  }
  return plan;
}

/** The hash of step `i`'s re-derived `args`: computed once per definition for args without a ref. */
export function derivedHash(plan: Plan, i: number, step: WorkflowStep, args: unknown): string {
  if (plan.refs[i]) return hashJson(args);
  let h = plan.argsHash[i];
  if (h === undefined) {
    h = hashJson(step.args);
    plan.argsHash[i] = h;
  }
  return h;
}
