/**
 * The step-execution half of `npm run bench:workflows`: kv_store steps run in-process through the
 * WorkflowSteps worker's core function (`Workflows.runStep`, what functions/queue/workflow-steps.ts
 * calls per record) against the same ops run by calling `Skills.execute` directly, side by side.
 *
 *   aos       runs of 100 steps (the most a definition holds) registered and started through
 *             core (`Workflows.register`, `Workflows.start`: credits reserved), then each op run by
 *             `Workflows.runStep({ opIndex })`: the run read, the skill called under the op's
 *             idempotency key, the op appended to the audit log and charged, the run moved on,
 *             the rest released at the end. A delivery runs the run's next ops itself while
 *             WORKFLOW_STEP_CHAIN_S lasts (the default, 20 s, covers a run of 100 kv ops); the
 *             op that ends a chain sends the next step message really to SQS (fauxqs,
 *             in-process, as `npm start` uses). The driver delivers the message the outbox sent
 *             (the run's next op index) instead of receiving it: receiving is the event source
 *             mapping's work, not AOS's. `--chain 0` runs one op per message.
 *   baseline  `Skills.execute("kv_store", args)` for the same args, with an idempotency key and
 *             the run id / op index as retry seed, as a step calls it.
 * Every third step's value is a `$ref` to the step before's result (resolved from the log).
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { type Actor, withContext } from "../core/context.ts";
import * as Credits from "../core/credits/index.ts";
import { query } from "../core/platform/db/index.ts";
import * as Skills from "../core/skills/index.ts";
import * as Workflows from "../core/workflows/index.ts";
import { startSqs } from "../local/emulators.ts";

const PER_RUN = 100;
/** While a step runs (statementsPerStep counts only then). */
let inStep = false;

const as = <T>(actor: Actor, fn: () => Promise<T>) =>
  withContext({ requestId: "bench", correlationId: "bench", actor }, fn);

const stepsOf = (round: number) =>
  Array.from({ length: PER_RUN }, (_, i) => ({
    id: `s${i}`,
    skill: "kv_store",
    args: {
      op: "set",
      key: `r${round}k${i % 50}`,
      value: i % 3 === 2 ? { $ref: `steps.s${i - 1}.result.op` } : i,
    },
  }));

/** The args step `i` resolves to (what the baseline sends). */
const argsOf = (round: number, i: number) => ({
  op: "set",
  key: `b${round}k${i % 50}`,
  value: i % 3 === 2 ? "set" : i,
});

/** fauxqs started and the WorkflowSteps queue made; the config entries that point at it. */
export async function stepQueue(): Promise<{ env: Record<string, string>; stop: () => Promise<void> }> {
  const sqs = await startSqs({});
  const { ensureQueues, localCredentials } = await import("../local/emulators.ts");
  const { queues } = await import("../functions/routes.ts");
  const urls = await ensureQueues(
    { endpoint: sqs.endpoint, region: "us-east-1", credentials: localCredentials() },
    queues.filter((q) => q.name === "WorkflowSteps"),
  );
  return { env: { SQS_ENDPOINT: sqs.endpoint, QUEUE_URLS: JSON.stringify(urls) }, stop: sqs.stop };
}

/** Credits for `steps` kv_store ops (reserved at each run's start), granted through core. */
export async function grantFor(tenantId: string, steps: number): Promise<void> {
  const system = { type: "system", name: "bench", tenantId } as const;
  await as(system, () => Credits.grant({ tenant_id: tenantId, amount: steps * 2 + 100, reason: "bench" }));
}

/** `steps` ops through the worker, in runs of 100; seconds. Throws unless every run completed. */
export async function aosSteps(actor: Actor, steps: number, round: number): Promise<number> {
  const name = `steps-${round}`;
  await as(actor, () => Workflows.register({ name, steps: stepsOf(round) }));
  const t = performance.now();
  for (let done = 0; done < steps; done += PER_RUN) {
    const { run } = await as(actor, () => Workflows.start(name, { input: {} }));
    // Deliver the run's next message until it completes: one delivery runs ops until its chain's
    // time (WORKFLOW_STEP_CHAIN_S) is spent, then the op it stopped at is the next message's.
    for (let next = 0, deliveries = 0; ; deliveries++) {
      if (deliveries > PER_RUN) throw new Error(`run ${run.id}: more deliveries than ops`);
      inStep = true;
      await Workflows.runStep({ v: 1, tenantId: run.tenant_id, runId: run.id, opIndex: next });
      inStep = false;
      const { rows } = await query<{ status: string; next_op_index: number }>(
        "select status, next_op_index from workflow_runs where id = $1",
        [run.id],
      );
      if (rows[0]?.status === "completed") break;
      if (rows[0]?.status !== "running" || rows[0].next_op_index === next)
        throw new Error(`run ${run.id}: ${JSON.stringify(rows[0])}`);
      next = rows[0].next_op_index;
    }
  }
  return (performance.now() - t) / 1000;
}

/** The same ops by `Skills.execute` directly; seconds. */
export async function directSteps(actor: Actor, steps: number, round: number): Promise<number> {
  const t = performance.now();
  for (let done = 0; done < steps; done += PER_RUN) {
    const runId = randomUUID();
    for (let i = 0; i < PER_RUN; i++)
      await as(actor, () =>
        Skills.execute("kv_store", argsOf(round, i), {
          idempotencyKey: Workflows.opKey(runId, i),
          runId,
          opIndex: i,
          charge: false,
          argsField: `steps.s${i}.args`,
        }),
      );
  }
  return (performance.now() - t) / 1000;
}

/**
 * Statements sent to Postgres per op of the worker (BEGIN and COMMIT included), counted on the
 * pg client's prototype while `runStep` runs, over one run of 100 steps: each is a round trip.
 */
export async function statementsPerStep(actor: Actor, round: number): Promise<number> {
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const original = proto.query;
  let n = 0;
  proto.query = function (this: unknown, ...a: unknown[]) {
    if (inStep) n++;
    return original.apply(this, a);
  };
  try {
    await aosSteps(actor, PER_RUN, round);
  } finally {
    proto.query = original;
  }
  return n / PER_RUN;
}
