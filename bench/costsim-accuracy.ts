/**
 * bench:costsim (c), accuracy against actual outcomes on hold-out history: V1 (priors) and V2
 * (calibrated from the calibration half) each estimate the plans of the hold-out half, and
 * their median absolute error against what those runs really cost and took is compared.
 *
 * The history is SYNTHETIC: AOS has no recorded production runs to replay here. A seeded
 * generator (mulberry32, seed printed) plays a tenant's world: per skill a true median duration
 * (lognormal spread), a true per-unit time, a true failure rate and retryable share, and how many
 * units a step fed by an earlier step's result carries. Runs of random workflow plans (1 to 4
 * steps over the registry's skills, voyage_embed's input either literal or an earlier step's
 * result) are executed in that world: each attempt takes its drawn time (capped at the step's
 * timeout), fails with the true rate, is retried while retryable and attempts remain; a step
 * that fails ends the run; only successful calls are charged (decision 0007). The first half
 * becomes the skill_metrics rollups V2 reads (hourly rows: calls, failures, duration p50/p95,
 * units per call); V2 never sees the second half. Two worlds: one where the tenant differs from
 * V1's priors (the case V2 exists for) and one where the priors are right (V2 must not be worse
 * by much there).
 */
import * as Costsim from "../core/costsim/index.ts";

/** Mulberry32: a small seeded generator, so a run can be repeated exactly. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface TrueSkill {
  median_ms: number;
  sigma: number;
  per_unit_ms: number;
  p_failure: number;
  retryable: number;
}
export interface World {
  name: string;
  skills: Record<string, TrueSkill>;
  /** Units of a voyage_embed call fed by an earlier step's result: uniform in [lo, hi]. */
  refUnits: [number, number];
}

export const WORLDS: World[] = [
  {
    name: "tenant unlike V1's priors",
    skills: {
      kv_store: { median_ms: 12, sigma: 0.5, per_unit_ms: 0, p_failure: 0.002, retryable: 0.5 },
      webhook_send: { median_ms: 1400, sigma: 0.7, per_unit_ms: 0, p_failure: 0.08, retryable: 0.7 },
      slack_send: { median_ms: 350, sigma: 0.4, per_unit_ms: 0, p_failure: 0.01, retryable: 0.7 },
      voyage_embed: { median_ms: 250, sigma: 0.3, per_unit_ms: 4, p_failure: 0.04, retryable: 0.8 },
    },
    refUnits: [10, 70],
  },
  {
    name: "tenant as V1's priors say",
    skills: Object.fromEntries(
      ["kv_store", "webhook_send", "slack_send", "voyage_embed"].map((s) => {
        const p = Costsim.priorOf(s);
        return [
          s,
          {
            median_ms: p.duration_ms,
            sigma: Math.log(p.duration_p95_ms / p.duration_ms) / 1.645,
            per_unit_ms: p.per_unit_ms,
            p_failure: p.p_failure,
            retryable: p.retryable_share,
          },
        ];
      }),
    ),
    refUnits: [10, 70],
  },
];

export type Step = { id: string; skill: string; args: Record<string, unknown> };

/** A random workflow of 1 to 4 steps over the registry's skills (its steps, as a caller sends them). */
export function randomPlan(r: () => number): Step[] {
  const n = 1 + Math.floor(r() * 4);
  const steps: Step[] = [];
  for (let i = 0; i < n; i++) {
    const id = `s${i}`;
    const kvBefore = steps.find((s) => s.skill === "kv_store");
    const x = r();
    if (x < 0.25) steps.push({ id, skill: "kv_store", args: { op: "get", key: `k${Math.floor(r() * 5)}` } });
    else if (x < 0.5) steps.push({ id, skill: "webhook_send", args: { url: "https://example.com/hook", payload: {} } });
    else if (x < 0.65) steps.push({ id, skill: "slack_send", args: { text: "done" } });
    else if (kvBefore && r() < 0.6)
      steps.push({ id, skill: "voyage_embed", args: { input: { $ref: `steps.${kvBefore.id}.result.value` } } });
    else {
      const k = 1 + Math.floor(r() * 20);
      steps.push({ id, skill: "voyage_embed", args: { input: Array.from({ length: k }, (_, j) => `text ${j}`) } });
    }
  }
  return steps;
}

/** A normal draw (Box-Muller). */
const normal = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

export interface Attempt {
  skill: string;
  ms: number;
  failed: boolean;
  units: number;
  /** What the call was charged: nothing when it failed (decision 0007). */
  credits: number;
  hour: number;
}

/** One run of `plan` in `world`: what it cost and took, and each attempt (for the history). */
export function run(world: World, plan: Costsim.Plan, r: () => number, hour: number) {
  let credits = 0;
  let ms = 0;
  const attempts: Attempt[] = [];
  for (const step of plan.steps) {
    const t = world.skills[step.skill] as TrueSkill;
    const units =
      step.units ??
      (step.unit_credits > 0 ? world.refUnits[0] + Math.floor(r() * (world.refUnits[1] - world.refUnits[0] + 1)) : 0);
    let ok = false;
    for (let a = 1; a <= step.max_attempts; a++) {
      const d = Math.min((t.median_ms + t.per_unit_ms * units) * Math.exp(t.sigma * normal(r)), step.timeout_ms);
      ms += d;
      const failed = r() < t.p_failure;
      const charged = failed ? 0 : step.base_credits + step.unit_credits * units;
      attempts.push({ skill: step.skill, ms: d, failed, units, credits: charged, hour });
      if (!failed) {
        ok = true;
        break;
      }
      if (r() >= t.retryable) break;
    }
    if (!ok) break;
    credits += step.base_credits + step.unit_credits * units;
  }
  return { credits: Math.round(credits * 10_000) / 10_000, ms: Math.round(ms), attempts };
}

/** skill_metrics rows (one per skill and hour) of the calibration half's attempts. */
export function historyOf(attempts: readonly Attempt[]): Costsim.HistoryInput {
  const groups = new Map<string, Attempt[]>();
  for (const a of attempts) {
    const k = `${a.skill}|${a.hour}`;
    const g = groups.get(k) ?? [];
    g.push(a);
    groups.set(k, g);
  }
  return {
    skill_metrics: [...groups.values()].map((g) => ({
      skill_name: (g[0] as Attempt).skill,
      calls: g.length,
      failures: g.filter((a) => a.failed).length,
      duration_p50_ms: Costsim.quantile(
        g.map((a) => a.ms),
        0.5,
      ),
      duration_p95_ms: Costsim.quantile(
        g.map((a) => a.ms),
        0.95,
      ),
      units_per_call: (g[0] as Attempt).skill === "voyage_embed" ? g.reduce((s, a) => s + a.units, 0) / g.length : null,
    })),
  };
}

export interface AccuracyFigures {
  world: string;
  holdout: number;
  v1: { credits: number; ms: number };
  v2: { credits: number; ms: number };
  v2Confidence: number;
  /** The credits error over the runs whose plan has a step priced only after the run (units unknown before it). */
  unitsUnknown: { runs: number; v1: number; v2: number };
}

const medianOf = (xs: number[]) => Costsim.quantile(xs, 0.5) ?? Number.NaN;

/** A plan of the world's 60: its steps (as a caller sends them) and V1's plan of them. */
export interface PlanEntry {
  steps: Step[];
  plan: Costsim.Plan;
}

/**
 * The calibration half of `world` (seeded): 60 random plans, then `runs` runs of plans picked
 * among them, spread over 24 hours (`Attempt.hour`). `pick` and `r` go on where the calibration
 * stopped: the hold-out half draws from them.
 */
export function calibrationOf(world: World, seed: number, runs: number) {
  const r = rng(seed);
  const plans: PlanEntry[] = Array.from({ length: 60 }, () => {
    const steps = randomPlan(r);
    return { steps, plan: Costsim.planOf({ workflow: { steps } }) };
  });
  const pick = () => plans[Math.floor(r() * plans.length)] as PlanEntry;
  const attempts: Attempt[] = [];
  for (let i = 0; i < runs; i++) attempts.push(...run(world, pick().plan, r, Math.floor((i / runs) * 24)).attempts);
  return { r, pick, attempts };
}

/** Calibrate V2 on `runs` runs of `world`, then compare V1 and V2 on `runs` more (seeded). */
export function accuracy(world: World, seed: number, runs: number): AccuracyFigures {
  const { r, pick, attempts } = calibrationOf(world, seed, runs);
  const history = historyOf(attempts);
  const est = new Map<Costsim.Plan, { v1: Costsim.SimulateReplyV1; v2: Costsim.SimulateReplyV2 }>();
  const err = { v1c: [] as number[], v1d: [] as number[], v2c: [] as number[], v2d: [] as number[] };
  const later = { v1: [] as number[], v2: [] as number[] };
  let confidence = 0;
  for (let i = 0; i < runs; i++) {
    const { plan } = pick();
    let e = est.get(plan);
    if (!e) {
      e = { v1: Costsim.simulateV1(plan), v2: Costsim.simulateV2(plan, history) };
      est.set(plan, e);
    }
    const actual = run(world, plan, r, 0);
    err.v1c.push(Math.abs(e.v1.credits - actual.credits));
    err.v1d.push(Math.abs(e.v1.duration_ms - actual.ms));
    err.v2c.push(Math.abs(e.v2.credits - actual.credits));
    err.v2d.push(Math.abs(e.v2.duration_ms - actual.ms));
    confidence += e.v2.confidence;
    if (plan.steps.some((s) => s.units === null)) {
      later.v1.push(Math.abs(e.v1.credits - actual.credits));
      later.v2.push(Math.abs(e.v2.credits - actual.credits));
    }
  }
  return {
    world: world.name,
    holdout: runs,
    v1: { credits: medianOf(err.v1c), ms: medianOf(err.v1d) },
    v2: { credits: medianOf(err.v2c), ms: medianOf(err.v2d) },
    v2Confidence: confidence / runs,
    unitsUnknown: { runs: later.v1.length, v1: medianOf(later.v1), v2: medianOf(later.v2) },
  };
}
