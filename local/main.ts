/**
 * `npm start`: AOS on one machine, the deployed handlers unchanged. Postgres and Redis answer
 * (started under `.aos/` if need be), the owner and application database roles exist, S3 and SQS
 * stand-ins run in-process, the schema is migrated as the owner role, the `dev` tenant seeded with
 * an admin key (kept in the data dir, reused while it works), then every route of functions/routes.ts is
 * served as API Gateway would, every queue polled as Lambda's event source mapping would and
 * every schedule fired as EventBridge Scheduler would. Unless ALERTMANAGER_URL is set, a private
 * Alertmanager takes the cost simulator's alerts (local/alertmanager.ts). SIGINT / SIGTERM stop it cleanly
 * (a second one exits at once).
 *
 * Lines for humans go to stdout; handlers' structured logs go through core/platform/logger.ts.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SQSClient } from "@aws-sdk/client-sqs";
import { type Config, config, setConfig } from "../core/config.ts";
import { awsClientOptions } from "../core/platform/aws.ts";
import { closePool } from "../core/platform/db/index.ts";
import { configuredMigrator } from "../core/platform/db/migrator.ts";
import { closeSqs } from "../core/platform/queue.ts";
import { closeRedis } from "../core/platform/redis.ts";
import { closeS3 } from "../core/platform/storage.ts";
import { queues, routes, schedules } from "../functions/routes.ts";
import { ALERTMANAGER_INSTALL, ensureLocalAlertmanager } from "./alertmanager.ts";
import { ensureLocalDatabase } from "./db-roles.ts";
import { devDefaults } from "./dev-defaults.ts";
import { ensureBucket, ensureQueues, localCredentials, startS3, startSqs } from "./emulators.ts";
import { createHttpServer } from "./http-server.ts";
import { createHandlerLoader, type HandlerLoader, Invoker } from "./invoke.ts";
import { type Redrive, redriveLostMessages } from "./redrive.ts";
import { type RunningScheduler, startScheduler } from "./scheduler.ts";
import { DEV_CREDITS, seedDevTenant } from "./seed.ts";
import { ensurePostgres, ensureRedis, type ServiceState } from "./services.ts";
import { runPoller } from "./sqs-poller.ts";

/** How long shutdown waits for handlers under way. */
const DRAIN_MS = 10_000;
const migrationsDir = fileURLToPath(new URL("../migrations", import.meta.url));

export interface RunLocalOptions {
  /** Where lines for humans go (default: stdout). */
  out?: (line: string) => void;
  loadHandler?: HandlerLoader;
}

class StartupError extends Error {
  override name = "StartupError";
}

const redact = (url: string) => url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
const inUse = (e: unknown) => (e as { code?: string }).code === "EADDRINUSE";

export async function runLocal(o: RunLocalOptions = {}): Promise<number> {
  const out = o.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const cleanups: Cleanups = [];
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      out(`${sig} again: exiting now`);
      process.exit(130);
    }
    out(`\n${sig}: stopping (again to exit at once)`);
    stop.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const interrupted = () => stop.signal.aborted;
  let privateServices: string[] = [];

  try {
    const c = config();
    out(`AOS local runtime, stage "${c.stage}"`);
    const started = Date.now();

    // 1. Postgres and Redis.
    const say = (m: string) => out(`  ${m}`);
    const pgState = await ensurePostgres(c.databaseUrl, c.dataDir, say, false);
    await ensureLocalDatabase(
      { ownerUrl: c.databaseMigrationUrl, appUrl: c.databaseUrl, superuser: c.local.pgSuperuser },
      say,
    );
    const redisState = await ensureRedis(c.redisUrl, c.dataDir, say);
    const how = (s: ServiceState) => (s === "started" ? `private instance under ${c.dataDir}/` : "already running");
    out(`  postgres  ${redact(c.databaseUrl)} (${how(pgState)})`);
    if (c.databaseMigrationUrl !== c.databaseUrl) out(`  owner     ${redact(c.databaseMigrationUrl)} (migrations)`);
    out(`  redis     ${redact(c.redisUrl)} (${how(redisState)})`);
    privateServices = [pgState === "started" && "Postgres", redisState === "started" && "Redis"].filter(
      (s): s is string => Boolean(s),
    );
    if (interrupted()) return 0;
    const alerts = await alertmanager(c, say, out);
    if (alerts.started) privateServices.push("Alertmanager");
    if (interrupted()) return 0;

    // 2. S3 and SQS: ours in-process unless endpoints are given.
    const aws = await startAwsStandIns(c, out, cleanups);
    const dev = devDefaults(c.dataDir, {
      signingSecret: c.skills.webhook.signingSecret,
      allowHosts: c.skills.http.allowHosts,
    });
    for (const n of dev.notes) out(`  ${n}`);
    setConfig({
      ...dev.env,
      ...alerts.env,
      S3_ENDPOINT: aws.s3Endpoint,
      S3_BUCKET: c.s3.bucket,
      SQS_ENDPOINT: aws.sqsEndpoint,
      QUEUE_URLS: JSON.stringify(aws.queueUrls),
    });
    cleanups.push({
      name: "clients",
      fn: () => Promise.allSettled([closeS3(), closeSqs(), closePool(), closeRedis()]),
    });
    if (interrupted()) return 0;

    // 3. Schema.
    const migration = await configuredMigrator(migrationsDir, say);
    const applied = await migration.migrator.up().finally(migration.close);
    out(`  schema    ${applied.length ? `${applied.length} migration(s) applied` : "up to date"}`);
    if (interrupted()) return 0;

    // 4. HTTP first: a port conflict should stop us before a key is minted.
    const region = c.sqs.region;
    const invoker = new Invoker(o.loadHandler ?? createHandlerLoader(), { app: "aos", stage: c.stage, region });
    const http = createHttpServer({ routes, invoker });
    const polling = new AbortController();
    const sqsClient = new SQSClient({ ...awsClientOptions(aws.sqsEndpoint, region), endpoint: aws.sqsEndpoint });
    const pollers: Promise<void>[] = [];
    let scheduler: RunningScheduler | undefined;
    let redrive: Redrive | undefined;
    cleanups.push({
      name: "runtime",
      fn: async () => {
        http.stopAccepting();
        polling.abort();
        scheduler?.stop();
        redrive?.stop();
        const left = await invoker.drain(DRAIN_MS);
        if (left) out(`  ${left} handler(s) still running after ${DRAIN_MS / 1000} s: abandoned`);
        await Promise.allSettled(pollers);
        await http.close();
        sqsClient.destroy();
      },
    });
    const addr = await http.listen(c.http.port, c.http.host).catch((e: unknown) => {
      if (!inUse(e)) throw e;
      throw new StartupError(`${c.http.host}:${c.http.port} is in use (another aos dev?): set PORT`);
    });

    // 5. The dev tenant and its admin key (kept in the data dir, reused while it works).
    const seed = await seedDevTenant(c.dataDir);
    out(
      `  tenant    dev ${seed.created ? `created with ${DEV_CREDITS} credits` : "exists"}; ${seed.minted ? "a new admin key" : "its admin key"} (kept in ${seed.keyFile}):`,
    );
    out(`            export AOS_KEY=${seed.key}`);
    if (interrupted()) return 0;

    // 6. Queues and schedules.
    for (const consumer of queues) {
      const queueUrl = aws.queueUrls[consumer.name];
      if (!queueUrl) {
        out(`  warning: no URL for queue ${consumer.name}; its consumer does not run`);
        continue;
      }
      out(`  queue     ${consumer.name} -> ${consumer.handler} (batches of ${consumer.batchSize})`);
      pollers.push(runPoller({ consumer, queueUrl, sqs: sqsClient, invoker, region, signal: polling.signal }));
    }
    scheduler = startScheduler({ schedules, invoker });
    for (const s of schedules) {
      const next = scheduler.next()[s.name]?.toISOString() ?? "never";
      out(`  schedule  ${s.name} ${s.schedule} -> ${s.handler} (next ${next})`);
    }
    // 7. What the previous run's in-memory queue lost, sent again.
    if (aws.sqsInMemory) redrive = await redriveLostMessages(out);
    const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
    out(`  ${routes.length} routes served (started in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    out(`  try       curl -H "Authorization: Bearer $AOS_KEY" http://${host}:${addr.port}/api/v1/keys`);
    out(`AOS ready on http://${host}:${addr.port}`);

    if (!interrupted()) await new Promise((r) => stop.signal.addEventListener("abort", r, { once: true }));
    return 0;
  } finally {
    for (const { name, fn } of cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        out(`  stopping ${name} failed: ${(e as Error).message}`);
      }
    }
    if (privateServices.length) {
      const many = privateServices.length > 1;
      const names = many
        ? `${privateServices.slice(0, -1).join(", ")} and ${privateServices.at(-1)}`
        : privateServices[0];
      out(
        `  the private ${names} under ${config().dataDir}/ ${many ? "keep" : "keeps"} running (aos dev --stop-services stops ${many ? "them" : "it"})`,
      );
    }
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (stop.signal.aborted) out("stopped");
  }
}

type Cleanups = { name: string; fn: () => unknown }[];

/**
 * Where the cost simulator's alerts go: ALERTMANAGER_URL when set, else a private Alertmanager
 * (started, or still running from an earlier start) whose URL becomes ALERTMANAGER_URL; none found
 * or it would not start: they wait in costsim_alert_queue. Never fails the start.
 */
async function alertmanager(c: Config, say: (m: string) => void, out: (line: string) => void) {
  const urls = c.costsim.alerts.alertmanagerUrls;
  if (urls.length) {
    out(`  alerts    ${urls.join(", ")} (ALERTMANAGER_URL)`);
    return { env: {}, started: false };
  }
  const am = await ensureLocalAlertmanager(c.dataDir, say);
  if ("url" in am) {
    const how = am.state === "started" ? "private Alertmanager" : "private Alertmanager, already running";
    out(
      `  alerts    ${am.url} (${how} under ${c.dataDir}/alertmanager/; costsim alerts go there; ALERTMANAGER_URL overrides)`,
    );
    return { env: { ALERTMANAGER_URL: am.url }, started: am.state === "started" };
  }
  const why =
    am.state === "missing"
      ? `no Alertmanager on PATH (${ALERTMANAGER_INSTALL})`
      : `the private Alertmanager did not start: ${am.reason}`;
  out(`  alerts    ${why}; costsim alerts wait in costsim_alert_queue until ALERTMANAGER_URL is set or it runs`);
  return { env: {}, started: false };
}

/** s3rver and fauxqs on their ports, or the endpoints given; the bucket and queues made sure of. */
async function startAwsStandIns(c: Config, out: (line: string) => void, cleanups: Cleanups) {
  const region = c.s3.region;
  let s3Endpoint = c.s3.endpoint;
  if (s3Endpoint) {
    const endpoint = s3Endpoint;
    await ensureBucket({ ...awsClientOptions(endpoint, region), endpoint }, c.s3.bucket).catch((e) =>
      out(`  warning: could not create bucket ${c.s3.bucket} at ${endpoint}: ${(e as Error).message}`),
    );
    out(`  s3        ${endpoint} (S3_ENDPOINT, bucket ${c.s3.bucket})`);
  } else {
    const s3Dir = join(c.dataDir, "s3");
    const s3 = await startS3({ bucket: c.s3.bucket, s3Dir, port: c.local.s3Port }).catch((e: unknown) => {
      if (!inUse(e)) throw e;
      throw new StartupError(
        `port ${c.local.s3Port} (S3 emulator) is in use: set LOCAL_S3_PORT (0 = any) or S3_ENDPOINT`,
      );
    });
    cleanups.push({ name: "s3rver", fn: s3.stop });
    s3Endpoint = s3.endpoint;
    out(`  s3        ${s3Endpoint} (s3rver, bucket ${c.s3.bucket}, objects in ${s3Dir}/)`);
  }
  let sqsEndpoint = c.sqs.endpoint;
  let queueUrls: Record<string, string> = { ...c.sqs.queueUrls };
  if (sqsEndpoint) {
    if (queues.some((q) => !queueUrls[q.name])) {
      const made = await ensureQueues({ ...awsClientOptions(sqsEndpoint, region), endpoint: sqsEndpoint });
      queueUrls = { ...queueUrls, ...made };
    }
    out(`  sqs       ${sqsEndpoint} (SQS_ENDPOINT)`);
  } else {
    const sqs = await startSqs({ port: c.local.sqsPort }).catch((e: unknown) => {
      if (!inUse(e)) throw e;
      throw new StartupError(
        `port ${c.local.sqsPort} (SQS emulator) is in use: set LOCAL_SQS_PORT (0 = any) or SQS_ENDPOINT`,
      );
    });
    cleanups.push({ name: "fauxqs", fn: sqs.stop });
    sqsEndpoint = sqs.endpoint;
    queueUrls = await ensureQueues({ endpoint: sqsEndpoint, region, credentials: localCredentials() });
    out(`  sqs       ${sqsEndpoint} (fauxqs, in memory: ${Object.keys(queueUrls).join(", ")})`);
  }
  return { s3Endpoint, sqsEndpoint, queueUrls, sqsInMemory: !c.sqs.endpoint };
}
