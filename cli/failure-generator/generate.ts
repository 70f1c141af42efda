/**
 * `aos failures generate`: provoke real failures of AOS's code, each through the real recording
 * path, and keep what the matcher saw of each with the label its scenario gives it.
 *
 * It runs in-process on the configured DATABASE_URL and REDIS_URL (like `aos tenants` and
 * `aos load-test --in-process`), acting as an operator key of `--tenant`: the records land in that
 * tenant's failure_matches, with run ids `generate:<batch>:<n>`, where GET /api/v1/failures shows
 * them. Skills.execute records the failures of the skill runs itself; what fails elsewhere
 * (refused args, Postgres, core functions) the generator records with Failures.record.
 *
 * For its own run it sets, in this process only: SKILL_OUTBOUND_ALLOW_HOSTS to its loopback
 * servers, SKILL_HTTP_TIMEOUT_MS 5 s (150 ms only for the hanging server), one attempt per request (SKILL_RETRY_MAX_ATTEMPTS=1;
 * an entry's own backoff still applies, against servers that say Retry-After: 0), a breaker
 * threshold it never reaches (the breakers of webhooks and of a call's own Slack URL are the
 * tenant's), a throwaway VOYAGE_API_KEY (a real one is never sent to its servers), and a
 * WEBHOOK_SIGNING_SECRET when none is set.
 */
import { randomBytes } from "node:crypto";
import { config, configOverrides, replaceConfigOverrides } from "../../core/config.ts";
import { withContext } from "../../core/context.ts";
import * as Failures from "../../core/failures/index.ts";
import { type ChainLink, signalOf } from "../../core/failures/signal.ts";
import { settleBackground } from "../../core/platform/background.ts";
import { closeRedis } from "../../core/platform/redis.ts";
import { NoFailureError, type Provoked, type Scenario } from "./scenario.ts";
import { coreScenarios } from "./scenarios-core.ts";
import { httpScenarios } from "./scenarios-http.ts";
import { rawScenarios } from "./scenarios-raw.ts";
import { type Figures, type Judged, score } from "./score.ts";
import { type GeneratorServers, startServers } from "./servers.ts";

/** Every scenario, in the order a round runs them. */
export const scenarios: readonly Scenario[] = [...httpScenarios, ...coreScenarios, ...rawScenarios];

/** One line of the corpus: the failure as the matcher sees it, and its label. */
export interface CorpusLine {
  scenario: string;
  label: string;
  category: string;
  skill: string | null;
  signal: {
    code?: string;
    kind?: string;
    status?: number;
    target?: string;
    body?: string;
    message: string;
    chain: ChainLink[];
  };
}

export interface GenerateOptions {
  count: number;
  seed: string;
  tenantId: string;
  /** Called with each provoked failure's line, in order. */
  onLine?: (line: CorpusLine) => void;
}

export interface Generated {
  batch: string;
  lines: CorpusLine[];
  /** Scenarios whose code did not fail (or whose preparation failed), with why. */
  notProvoked: { scenario: string; reason: string }[];
  /** Failures whose record did not land in failure_matches (queued or dropped by Failures.record). */
  notLanded: number;
  /** Matching quality of the records as written in failure_matches, against the labels. */
  figures: Figures;
  elapsedMs: number;
}

/** A number in [0, 1) from the seed, reproducible (mulberry32 over the seed's hash). */
function seeded(seed: string): () => number {
  let h = 1779033703;
  for (const ch of seed) h = Math.imul(h ^ ch.charCodeAt(0), 3432918353);
  let a = h >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The settings of the generator's own run (see the module's comment). */
function runSettings(s: GeneratorServers): Record<string, string> {
  const c = config();
  return {
    SKILL_OUTBOUND_ALLOW_HOSTS: [s.httpHost, `127.0.0.1:${s.closedPort}`].join(","),
    SKILL_HTTP_TIMEOUT_MS: "5000",
    SKILL_RETRY_MAX_ATTEMPTS: "1",
    SKILL_BREAKER_FAILURE_THRESHOLD: "1000000",
    VOYAGE_API_KEY: "aos-generate-throwaway-key",
    VOYAGE_BASE_URL: `${s.http}/voyage/500`,
    WEBHOOK_SIGNING_SECRET: c.skills.webhook.signingSecret ?? randomBytes(32).toString("hex"),
  };
}

function lineOf(scenario: Scenario, category: string, p: Provoked): CorpusLine {
  const s = signalOf(p.error);
  const signal: CorpusLine["signal"] = { message: s.message, chain: s.chain };
  if (s.code !== undefined) signal.code = s.code;
  if (s.kind !== undefined) signal.kind = s.kind;
  if (s.status !== undefined) signal.status = s.status;
  if (s.target !== undefined) signal.target = s.target;
  if (s.body !== undefined) signal.body = s.body;
  return { scenario: scenario.name, label: scenario.label, category, skill: p.skillId ?? null, signal };
}

/** Run one scenario with its settings in force, as an operator key of the tenant. */
async function runOne(sc: Scenario, base: Record<string, string>, x: Parameters<Scenario["run"]>[0]) {
  const before = configOverrides();
  if (sc.swapsClients) await closeRedis(200);
  try {
    if (sc.env) replaceConfigOverrides({ ...before, ...sc.env(x.servers) });
    return await withContext(
      {
        requestId: x.runId,
        correlationId: x.runId,
        actor: { type: "key", keyId: "cli:failures-generate", tenantId: x.tenantId, role: "operator" },
      },
      () => sc.run(x),
    );
  } finally {
    if (sc.swapsClients) await closeRedis(200);
    replaceConfigOverrides({ ...before, ...base });
  }
}

export async function generate(o: GenerateOptions): Promise<Generated> {
  const started = performance.now();
  const entries = new Map((await Failures.listCatalog()).map((e) => [e.id, e]));
  for (const sc of scenarios)
    if (!entries.has(sc.label))
      throw new Error(`scenario ${sc.name} is labelled ${sc.label}, which is not in the catalog`);
  const batch = `${o.seed}-${randomBytes(3).toString("hex")}`;
  const rng = seeded(o.seed);
  const offsets = scenarios.map(() => Math.floor(rng() * 1000));
  const servers = await startServers();
  const original = configOverrides();
  const base = runSettings(servers);
  replaceConfigOverrides({ ...original, ...base });
  const lines: CorpusLine[] = [];
  const runIds: string[] = [];
  const notProvoked: Generated["notProvoked"] = [];
  try {
    for (let i = 0; i < o.count; i++) {
      const sc = scenarios[i % scenarios.length] as Scenario;
      const runId = `generate:${batch}:${i}`;
      const n = Math.floor(i / scenarios.length) + (offsets[i % scenarios.length] as number);
      const x = { servers, runId, n, tenantId: o.tenantId };
      let p: Provoked;
      try {
        p = await runOne(sc, base, x);
      } catch (e) {
        notProvoked.push({ scenario: sc.name, reason: e instanceof NoFailureError ? e.message : String(e) });
        continue;
      }
      if (!p.recorded)
        await withContext({ requestId: runId, correlationId: runId, actor: { type: "system", name: "cli" } }, () =>
          Failures.record({
            error: p.error,
            runId,
            skillId: p.skillId,
            tenantId: o.tenantId,
            context: { generated_by: "aos failures generate", scenario: sc.name },
          }),
        );
      const line = lineOf(sc, entries.get(sc.label)?.category as string, p);
      lines.push(line);
      runIds.push(runId);
      o.onLine?.(line);
    }
    // Skills.execute records its failures in the background (Failures.recordInBackground), as a
    // handler kit would: finished here before they are read back.
    await settleBackground();
  } finally {
    replaceConfigOverrides(original);
    await servers.close();
  }
  // What landed, read back from failure_matches: the figures are of the records themselves.
  const rows = new Map<string, Failures.RunMatch>();
  for (let i = 0; i < runIds.length; i += 500)
    for (const r of await Failures.matchesOfRuns(o.tenantId, runIds.slice(i, i + 500))) rows.set(r.runId, r);
  const judged: Judged[] = [];
  let notLanded = 0;
  for (const [i, id] of runIds.entries()) {
    const line = lines[i] as CorpusLine;
    const r = rows.get(id);
    if (!r) {
      notLanded++;
      continue;
    }
    judged.push({
      label: line.label,
      labelCategory: line.category,
      entry: r.catalogEntryId,
      entryCategory: r.catalogEntryId ? (entries.get(r.catalogEntryId)?.category ?? r.category) : null,
      confidence: r.matchConfidence ?? 0,
    });
  }
  return { batch, lines, notProvoked, notLanded, figures: score(judged), elapsedMs: performance.now() - started };
}
