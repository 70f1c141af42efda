/**
 * What the SST resource graph must say about functions/routes.ts. Each check returns the list
 * of violations (empty = fine), so the stack test can show every problem at once and can prove,
 * on a doctored graph, that each check does fire.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { HttpRoute, LinkName, QueueConsumer, Schedule } from "../../functions/routes.ts";
import { DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, fallback, handlerFile, routeKey } from "../../functions/routes.ts";
import type { GraphResource, StackGraph } from "./harness.ts";

export interface Table {
  routes: readonly HttpRoute[];
  queues: readonly QueueConsumer[];
  schedules: readonly Schedule[];
}
type Entry = { handler: string; links?: readonly LinkName[]; timeoutS?: number; memoryMb?: number };

const LAMBDA = "aws:lambda/function:Function";
/** Actions a queue consumer gets on its own queue through the subscription, link or not. */
const CONSUME = [
  "sqs:ChangeMessageVisibility",
  "sqs:DeleteMessage",
  "sqs:GetQueueAttributes",
  "sqs:GetQueueUrl",
  "sqs:ReceiveMessage",
];
/** What core/config.ts reads from each kind of link (`Resource.<Name>.<prop>`). */
const LINK_PROPERTY = { secret: "value", Exports: "name", queue: "url" } as const;

const ofType = (g: StackGraph, type: string) => g.resources.filter((r) => r.type === type);
const named = (g: StackGraph, type: string, name: string) => ofType(g, type).find((r) => r.name === name);
const str = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
const sqsArn = (q: GraphResource) => `arn:aws:sqs:us-east-1:123456789012:${str(q.inputs.name)}`;
const lambdaArn = (f: GraphResource) => `arn:aws:lambda:us-east-1:123456789012:function:${str(f.inputs.name)}`;
const lambdaByArn = (g: StackGraph, arn: unknown) => ofType(g, LAMBDA).find((f) => lambdaArn(f) === arn);
const entriesOf = (t: Table): Entry[] => [...t.routes, ...t.queues, ...t.schedules];

/** The API Gateway routes of a route-table entry. */
const apiRoutes = (g: StackGraph, r: HttpRoute) =>
  ofType(g, "aws:apigatewayv2/route:Route").filter((x) => x.inputs.routeKey === routeKey(r));
/** The event source mappings reading a queue. */
const mappingsOf = (g: StackGraph, q: GraphResource) =>
  ofType(g, "aws:lambda/eventSourceMapping:EventSourceMapping").filter((m) => m.inputs.eventSourceArn === sqsArn(q));

/** Each entry of the table with a label and the Lambda the graph wires to it (by route, mapping or schedule). */
export function resolveEntries(
  g: StackGraph,
  t: Table,
): Array<{ label: string; entry: Entry; fn: GraphResource | undefined }> {
  const viaRoute = (r: HttpRoute) => {
    const route = apiRoutes(g, r)[0];
    if (!route) return undefined;
    const integration = named(
      g,
      "aws:apigatewayv2/integration:Integration",
      str(route.inputs.target)
        .replace(/^integrations\//, "")
        .replace(/-id$/, ""),
    );
    return lambdaByArn(g, integration?.inputs.integrationUri);
  };
  const viaQueue = (c: QueueConsumer) => {
    const q = named(g, "aws:sqs/queue:Queue", `${c.name}QueueQueue`);
    const m = q && mappingsOf(g, q)[0];
    return m && lambdaByArn(g, m.inputs.functionName);
  };
  const viaSchedule = (s: Schedule) => {
    const sch = named(g, "aws:scheduler/schedule:Schedule", `${s.name}Schedule`);
    return sch && lambdaByArn(g, (sch.inputs.target as { arn?: string } | undefined)?.arn);
  };
  return [
    ...t.routes.map((r) => ({ label: routeKey(r), entry: r, fn: viaRoute(r) })),
    ...t.queues.map((c) => ({ label: `queue ${c.name}`, entry: c, fn: viaQueue(c) })),
    ...t.schedules.map((s) => ({ label: `schedule ${s.name}`, entry: s, fn: viaSchedule(s) })),
  ];
}

/** The common shape every function of an entry must have. */
function checkFunction(label: string, f: GraphResource | undefined, e: Entry, root: string): string[] {
  if (!f) return [`${label}: no Lambda function runs ${e.handler}`];
  const out: string[] = [];
  if (!existsSync(join(root, handlerFile(e.handler))))
    out.push(`${label}: handler file ${handlerFile(e.handler)} does not exist`);
  if (f.inputs.timeout !== (e.timeoutS ?? DEFAULT_TIMEOUT_S))
    out.push(`${label}: timeout ${str(f.inputs.timeout)} s, table says ${e.timeoutS ?? DEFAULT_TIMEOUT_S}`);
  if (f.inputs.memorySize !== (e.memoryMb ?? DEFAULT_MEMORY_MB))
    out.push(`${label}: memory ${str(f.inputs.memorySize)} MB, table says ${e.memoryMb ?? DEFAULT_MEMORY_MB}`);
  return out;
}

/** The evaluation itself: no program error, no failed build, no RPC or data source left unanswered. */
export function checkEvaluation(g: StackGraph): string[] {
  return [
    ...g.errors.map((e) => `error: ${e}`),
    ...g.builds.flatMap((b) => b.errors.map((e) => `build of ${b.functionID}: ${e}`)),
    ...g.unhandled.map((u) => `not stood in for: ${u}`),
  ];
}

/** Each route is an API Gateway route whose integration invokes a Lambda running its handler; nothing else is routed. */
export function checkRoutes(g: StackGraph, t: Table, root: string): string[] {
  const out: string[] = [];
  const fnOf = new Map(resolveEntries(g, t).map((x) => [x.entry, x.fn]));
  for (const r of t.routes) {
    const key = routeKey(r);
    const n = apiRoutes(g, r).length;
    if (n !== 1) {
      const file = handlerFile(r.handler);
      out.push(
        `${key}: ${n} API Gateway routes${existsSync(join(root, file)) ? "" : `; handler file ${file} does not exist`}`,
      );
      continue;
    }
    const f = fnOf.get(r);
    if (f && f.inputs.handler !== r.handler)
      out.push(`${key}: invokes ${str(f.inputs.handler)}, table says ${r.handler}`);
    else out.push(...checkFunction(key, f, r, root));
  }
  const keys = new Set(t.routes.map(routeKey));
  const lambdaOf = (x: GraphResource | undefined) => {
    const target = str(x?.inputs.target)
      .replace(/^integrations\//, "")
      .replace(/-id$/, "");
    return lambdaByArn(g, named(g, "aws:apigatewayv2/integration:Integration", target)?.inputs.integrationUri);
  };
  const routed = ofType(g, "aws:apigatewayv2/route:Route");
  for (const x of routed) {
    const key = str(x.inputs.routeKey);
    if (key === "$default") continue;
    // HEAD beside every GET route, to the GET route's own function.
    if (key.startsWith("HEAD ")) {
      const get = `GET ${key.slice("HEAD ".length)}`;
      const getRoute = routed.find((y) => str(y.inputs.routeKey) === get);
      if (!keys.has(get)) out.push(`${key}: routed, but functions/routes.ts has no ${get}`);
      else if (!lambdaOf(x) || lambdaOf(x) !== lambdaOf(getRoute)) out.push(`${key}: not to ${get}'s function`);
      continue;
    }
    if (!keys.has(key)) out.push(`${key}: routed but not in functions/routes.ts`);
  }
  for (const r of t.routes.filter((r) => r.method === "GET")) {
    const head = `HEAD ${r.path}`;
    if (!routed.some((x) => str(x.inputs.routeKey) === head)) out.push(`${head}: not routed (its GET is)`);
  }
  // Exactly one catch-all, to the fallback that answers 405/404 in the envelope.
  const defaults = routed.filter((x) => str(x.inputs.routeKey) === "$default");
  const fn = lambdaOf(defaults[0]);
  if (defaults.length !== 1 || fn?.inputs.handler !== fallback.handler)
    out.push(`$default: ${defaults.length} route(s), to ${str(fn?.inputs.handler)}; want one, to ${fallback.handler}`);
  return out;
}

/** Each queue: a DLQ via redrive with the table's maxReceiveCount, and one mapping that reports batch item failures. */
export function checkQueues(g: StackGraph, t: Table, root: string): string[] {
  const out: string[] = [];
  for (const c of t.queues) {
    const q = named(g, "aws:sqs/queue:Queue", `${c.name}QueueQueue`);
    const dlq = named(g, "aws:sqs/queue:Queue", `${c.name}DlqQueue`);
    if (!q || !dlq) {
      out.push(`queue ${c.name}: ${q ? "" : "no queue "}${dlq ? "" : "no DLQ"}`.trim());
      continue;
    }
    const redrive = q.inputs.redrivePolicy ? (JSON.parse(str(q.inputs.redrivePolicy)) as Record<string, unknown>) : {};
    if (redrive.deadLetterTargetArn !== sqsArn(dlq)) out.push(`queue ${c.name}: redrive does not target ${c.name}Dlq`);
    if (redrive.maxReceiveCount !== c.maxReceiveCount)
      out.push(`queue ${c.name}: maxReceiveCount ${str(redrive.maxReceiveCount)}, table says ${c.maxReceiveCount}`);
    if (q.inputs.visibilityTimeoutSeconds !== c.visibilityTimeoutS)
      out.push(
        `queue ${c.name}: visibility timeout ${str(q.inputs.visibilityTimeoutSeconds)}, table says ${c.visibilityTimeoutS}`,
      );
    if (c.visibilityTimeoutS <= c.timeoutS)
      out.push(`queue ${c.name}: visibility timeout must exceed the handler timeout ${c.timeoutS}`);
    const mine = mappingsOf(g, q);
    if (mine.length !== 1) {
      out.push(`queue ${c.name}: ${mine.length} event source mappings, expected exactly 1`);
      continue;
    }
    const m = mine[0]!.inputs;
    if (!(m.functionResponseTypes as string[] | undefined)?.includes("ReportBatchItemFailures"))
      out.push(`queue ${c.name}: mapping does not report batch item failures`);
    if (m.batchSize !== c.batchSize)
      out.push(`queue ${c.name}: batch size ${str(m.batchSize)}, table says ${c.batchSize}`);
    if ((m.maximumBatchingWindowInSeconds ?? 0) !== c.batchWindowS)
      out.push(`queue ${c.name}: batch window ${str(m.maximumBatchingWindowInSeconds)}, table says ${c.batchWindowS}`);
    const f = lambdaByArn(g, m.functionName);
    if (f && f.inputs.handler !== c.handler)
      out.push(`queue ${c.name}: consumer runs ${str(f.inputs.handler)}, table says ${c.handler}`);
    else out.push(...checkFunction(`queue ${c.name}`, f, c, root));
  }
  return out;
}

/** Each schedule: an enabled EventBridge schedule with the table's expression, invoking its handler. */
export function checkSchedules(g: StackGraph, t: Table, root: string): string[] {
  const out: string[] = [];
  const all = ofType(g, "aws:scheduler/schedule:Schedule");
  for (const s of t.schedules) {
    const sch = named(g, "aws:scheduler/schedule:Schedule", `${s.name}Schedule`);
    if (!sch) {
      out.push(`schedule ${s.name}: missing`);
      continue;
    }
    if (sch.inputs.scheduleExpression !== s.schedule)
      out.push(`schedule ${s.name}: runs ${str(sch.inputs.scheduleExpression)}, table says ${s.schedule}`);
    if (sch.inputs.state !== "ENABLED") out.push(`schedule ${s.name}: state ${str(sch.inputs.state)}`);
    const f = lambdaByArn(g, (sch.inputs.target as { arn?: string } | undefined)?.arn);
    if (f && f.inputs.handler !== s.handler)
      out.push(`schedule ${s.name}: invokes ${str(f.inputs.handler)}, table says ${s.handler}`);
    else out.push(...checkFunction(`schedule ${s.name}`, f, s, root));
  }
  if (all.length !== t.schedules.length) out.push(`${all.length} schedules, table has ${t.schedules.length}`);
  return out;
}

/** Whether a role's trust policy lets only Lambda assume it. */
function trustsOnlyLambda(g: StackGraph, f: GraphResource): boolean {
  const role = ofType(g, "aws:iam/role:Role").find(
    (r) => `arn:aws:iam::123456789012:role/${str(r.inputs.name)}` === f.inputs.role,
  );
  const doc = role && (JSON.parse(str(role.inputs.assumeRolePolicy)) as { Statement: Array<Record<string, unknown>> });
  return (
    !!doc &&
    doc.Statement.every(
      (s) =>
        str(s.Principal) === str({ Service: "lambda.amazonaws.com" }) ||
        str(s.Principal) === str({ Service: ["lambda.amazonaws.com"] }),
    )
  );
}

/** One function per table entry, each on nodejs22.x or newer, arm64, with STAGE set, its role assumable by Lambda only. */
export function checkRuntimes(g: StackGraph, t: Table): string[] {
  const out: string[] = [];
  const fns = ofType(g, LAMBDA);
  for (const f of fns) {
    const major = Number(/^nodejs(\d+)\.x$/.exec(str(f.inputs.runtime))?.[1] ?? 0);
    if (major < 22) out.push(`${str(f.inputs.handler)}: runtime ${str(f.inputs.runtime)}, needs nodejs22.x or newer`);
    if (str(f.inputs.architectures) !== str(["arm64"]))
      out.push(`${str(f.inputs.handler)}: architectures ${str(f.inputs.architectures)}`);
    const env = (f.inputs.environment as { variables?: Record<string, string> } | undefined)?.variables ?? {};
    if (env.STAGE !== g.app.stage) out.push(`${str(f.inputs.handler)}: STAGE=${str(env.STAGE)}`);
    if (!trustsOnlyLambda(g, f)) out.push(`${str(f.inputs.handler)}: its role may be assumed by more than Lambda`);
  }
  // One per entry, and the $default route's fallback.
  if (fns.length !== entriesOf(t).length + 1)
    out.push(`${fns.length} Lambda functions, the table has ${entriesOf(t).length} entries and the fallback`);
  return out;
}

interface Statement {
  Effect: string;
  Action: string[];
  Resource: string[];
}
/** The Allow statements of a function's role (its inline policies). */
function statementsOf(g: StackGraph, f: GraphResource): Statement[] {
  const role = ofType(g, "aws:iam/role:Role").find(
    (r) => `arn:aws:iam::123456789012:role/${str(r.inputs.name)}` === f.inputs.role,
  );
  const policies = (role?.inputs.inlinePolicies ?? []) as Array<{ policy: string }>;
  return policies
    .flatMap((p) => (JSON.parse(p.policy) as { Statement: Statement[] }).Statement)
    .filter((s) => s.Effect === "Allow");
}
const touches = (s: Statement, arn: string) =>
  s.Resource.some((r) => r === "*" || r === arn || r.startsWith(`${arn}/`));

/**
 * Least privilege: exactly the entries whose `links` name the bucket reach it; exactly the
 * entries linking a queue may send to it (its consumer may also receive from it); no function
 * gets a wildcard resource; and the links each build gets are the table's, with the property
 * core/config.ts reads.
 */
export function checkLeastPrivilege(g: StackGraph, t: Table): string[] {
  const out: string[] = [];
  const bucket =
    named(g, "aws:s3/bucket:Bucket", "ExportsBucket") ?? named(g, "aws:s3/bucketV2:BucketV2", "ExportsBucket");
  if (!bucket) return ["no Exports bucket"];
  const bucketArn = `arn:aws:s3:::${str(bucket.inputs.bucket)}`;
  for (const { label, entry: e, fn: f } of resolveEntries(g, t)) {
    if (!f) continue; // reported by the route, queue and schedule checks
    const links = new Set(e.links ?? []);
    const consumerOf = t.queues.find((q) => q === e)?.name;
    const st = statementsOf(g, f);
    for (const s of st) if (s.Resource.includes("*")) out.push(`${label}: wildcard resource for ${s.Action.join(",")}`);
    const s3 = st.some((s) => touches(s, bucketArn));
    if (s3 !== links.has("Exports")) {
      out.push(
        `${label}: ${s3 ? "has" : "lacks"} access to the Exports bucket, table ${links.has("Exports") ? "links" : "does not link"} it`,
      );
    }
    for (const c of t.queues) {
      const q = named(g, "aws:sqs/queue:Queue", `${c.name}QueueQueue`);
      if (!q) continue;
      const on = st.filter((s) => touches(s, sqsArn(q)));
      const linked = links.has(`${c.name}Queue` as LinkName);
      const beyondConsuming = on.some((s) => s.Action.some((a) => !CONSUME.includes(a)));
      if (beyondConsuming !== linked) {
        out.push(
          `${label}: ${beyondConsuming ? "can" : "cannot"} send to ${c.name}Queue, table ${linked ? "links" : "does not link"} it`,
        );
      }
      if (on.length > 0 && !linked && consumerOf !== c.name)
        out.push(`${label}: has access to ${c.name}Queue without linking or consuming it`);
    }
  }
  // What the code sees: each function's build gets exactly the table's links (a build is
  // named after its function: build `XHandler` -> Lambda `XHandlerFunction`).
  for (const { label, entry: e, fn: f } of resolveEntries(g, t)) {
    const b = f && g.builds.find((x) => `${x.functionID}Function` === f.name);
    if (!b) continue;
    const want = ["DatabaseUrl", "RedisUrl", ...(e.links ?? [])].sort();
    const got = Object.keys(b.links).sort();
    if (str(got) !== str(want)) out.push(`${label}: links ${got.join(",")}, table implies ${want.join(",")}`);
    for (const [name, props] of Object.entries(b.links)) {
      const prop =
        name === "Exports"
          ? LINK_PROPERTY.Exports
          : name.endsWith("Queue")
            ? LINK_PROPERTY.queue
            : LINK_PROPERTY.secret;
      if (!props.includes(prop)) out.push(`${label}: Resource.${name}.${prop} (read by core/config.ts) is not linked`);
    }
  }
  return out;
}

/** The Exports bucket: exports/ expire after 7 days, incomplete multipart uploads are aborted after 1. */
export function checkBucket(g: StackGraph): string[] {
  const lc = named(g, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "ExportsLifecycle");
  if (!lc) return ["Exports bucket has no lifecycle configuration"];
  type Rule = {
    status: string;
    filter?: { prefix?: string };
    expiration?: { days?: number };
    abortIncompleteMultipartUpload?: { daysAfterInitiation?: number };
  };
  const rules = (lc.inputs.rules ?? []) as Rule[];
  const out: string[] = [];
  if (!rules.some((r) => r.status === "Enabled" && r.filter?.prefix === "exports/" && r.expiration?.days === 7))
    out.push("no enabled rule expiring exports/ after 7 days");
  if (
    !rules.some(
      (r) => r.status === "Enabled" && r.abortIncompleteMultipartUpload?.daysAfterInitiation === 1 && !r.filter?.prefix,
    )
  )
    out.push("no enabled bucket-wide rule aborting incomplete multipart uploads after 1 day");
  return out;
}
