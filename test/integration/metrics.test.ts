/**
 * Metrics across instances, against the real Redis of this test file (its own key prefix).
 * Each `createMetrics()` plays one Lambda instance: its own recorder, the same Redis.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import { ManualClock, setClock, systemClock } from "../../core/platform/clock.ts";
import { createMetrics, renderMetrics } from "../../core/platform/metrics/index.ts";
import { redis } from "../../core/platform/redis.ts";
import { RedisClient } from "../../core/platform/redis-client.ts";

// ---------------------------------------------------------------------------------------------
// A strict reader of the Prometheus text format 0.0.4, to check what we render.

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  type: string;
  help?: string;
  samples: Sample[];
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const floatText = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Inf|NaN)$/;

function parseFloatText(s: string, line: string): number {
  if (!floatText.test(s)) throw new Error(`bad value in: ${line}`);
  if (/Inf$/.test(s)) return s.startsWith("-") ? -Infinity : Infinity;
  return Number(s);
}

function familyOf(sampleName: string, families: Map<string, Family>): string {
  if (families.has(sampleName)) return sampleName;
  const base = sampleName.replace(/_(bucket|sum|count)$/, "");
  if (families.get(base)?.type === "histogram") return base;
  throw new Error(`sample ${sampleName} has no # TYPE before it`);
}

function parseLabelSet(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    const name = text.slice(i, eq);
    if (eq < 0 || !labelName.test(name) || text[eq + 1] !== '"') throw new Error(`bad label in: ${line}`);
    let j = eq + 2;
    let value = "";
    for (;;) {
      const c = text[j];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      if (c === '"') break;
      if (c === "\\") {
        const e = text[j + 1];
        if (e === "\\") value += "\\";
        else if (e === '"') value += '"';
        else if (e === "n") value += "\n";
        else throw new Error(`bad escape in: ${line}`);
        j += 2;
      } else {
        value += c;
        j++;
      }
    }
    if (name in labels) throw new Error(`duplicate label ${name} in: ${line}`);
    labels[name] = value;
    i = j + 1;
    if (i < text.length) {
      if (text[i] !== ",") throw new Error(`expected , in: ${line}`);
      i++;
    }
  }
  return labels;
}

function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const families = new Map<string, Family>();
  const seenSeries = new Set<string>();
  let current: string | undefined;
  for (const line of text.slice(0, -1).split("\n")) {
    if (line === "") continue;
    const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
    if (meta) {
      const [, kind, name = "", rest = ""] = meta;
      if (!metricName.test(name)) throw new Error(`bad metric name in: ${line}`);
      const fam = families.get(name);
      if (kind === "TYPE") {
        if (fam?.type || fam?.samples.length) throw new Error(`TYPE of ${name} repeated or after its samples`);
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest))
          throw new Error(`bad type: ${line}`);
        families.set(name, { help: fam?.help, type: rest, samples: [] });
      } else {
        if (rest.replace(/\\[\\n]/g, "").includes("\\")) throw new Error(`bad escape in help: ${line}`);
        families.set(name, { type: fam?.type ?? "", samples: fam?.samples ?? [], help: rest });
      }
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!m) throw new Error(`bad sample line: ${line}`);
    const [, name = "", labelText = "", valueText = ""] = m;
    const fam = familyOf(name, families);
    if (current !== fam && families.get(fam)?.samples.length) throw new Error(`samples of ${fam} are not together`);
    current = fam;
    const labels = parseLabelSet(labelText, line);
    const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seenSeries.has(id)) throw new Error(`duplicate series: ${line}`);
    seenSeries.add(id);
    families.get(fam)?.samples.push({ name, labels, value: parseFloatText(valueText, line) });
  }
  for (const [name, fam] of families) if (fam.type === "histogram") checkHistogram(name, fam);
  return families;
}

function checkHistogram(name: string, fam: Family): void {
  const groups = new Map<string, Sample[]>();
  for (const s of fam.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  for (const samples of groups.values()) {
    const buckets = samples.filter((s) => s.name === `${name}_bucket`);
    const count = samples.find((s) => s.name === `${name}_count`);
    if (buckets.some((b) => b.labels.le === undefined)) throw new Error(`${name}: bucket without le`);
    const les = buckets.map((b) => parseFloatText(b.labels.le ?? "", name));
    for (let i = 1; i < buckets.length; i++) {
      if (!((les[i] ?? 0) > (les[i - 1] ?? 0))) throw new Error(`${name}: le not increasing`);
      if ((buckets[i]?.value ?? 0) < (buckets[i - 1]?.value ?? 0)) throw new Error(`${name}: buckets not cumulative`);
    }
    if (les.at(-1) !== Infinity) throw new Error(`${name}: no +Inf bucket`);
    if (!count || buckets.at(-1)?.value !== count.value) throw new Error(`${name}: +Inf bucket differs from _count`);
    if (!samples.some((s) => s.name === `${name}_sum`)) throw new Error(`${name}: no _sum`);
  }
}

/** The value of one series in a parsed exposition (undefined when absent). */
function sampleValue(f: Map<string, Family>, sample: string, labels: Record<string, string> = {}): number | undefined {
  const fam = f.get(sample) ?? f.get(sample.replace(/_(bucket|sum|count)$/, ""));
  const want = JSON.stringify(Object.entries(labels).sort());
  return fam?.samples.find((s) => s.name === sample && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}

async function scrape() {
  // A fresh instance renders: it defined none of the test metrics, so they come from Redis alone.
  const { contentType, body } = await renderMetrics(createMetrics());
  return { contentType, body, families: parseExposition(body) };
}

/** A TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

const clients: RedisClient[] = [];
const servers: Server[] = [];
const sockets = new Set<Socket>();

/** Listen on a free port; afterEach closes the server and every connection it accepted. */
async function listen(server: Server): Promise<void> {
  servers.push(server);
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
}
/** A client like the shared one (same key prefix and deadline), pointed elsewhere. */
function redisAt(port: number): RedisClient {
  const c = new RedisClient(`redis://127.0.0.1:${port}`, {
    keyPrefix: config().redisPrefix,
    commandTimeoutMs: config().redisCommandTimeoutMs,
    backoffMs: 0,
  });
  clients.push(c);
  return c;
}

afterEach(async () => {
  setClock(systemClock);
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of sockets) s.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

// ---------------------------------------------------------------------------------------------

describe("the exposition reader used below", () => {
  it("accepts well-formed text and rejects malformed text", () => {
    const good = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="q\\"uote"} 2\n';
    expect(sampleValue(parseExposition(good), "a_total", { x: 'q"uote' })).toBe(2);
    const bad = [
      'a_total{x="unterminated} 1\n', // no TYPE and a broken label
      '# TYPE a_total counter\na_total{x="1"} one\n', // value
      '# TYPE a_total counter\na_total{x="1"} 1\na_total{x="1"} 2\n', // duplicate series
      '# TYPE a_total counter\na_total{1x="1"} 1\n', // label name
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', // not cumulative
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n', // +Inf != count
      "# TYPE a_total counter\na_total 1", // no final newline
      "# HELP a_total bad \\q escape\n# TYPE a_total counter\na_total 1\n", // help escape
    ];
    for (const text of bad) expect(() => parseExposition(text), text).toThrow();
  });
});

describe("metrics across instances", () => {
  it("adds up counters and merges histograms bucket by bucket from two instances", async () => {
    const a = createMetrics();
    const b = createMetrics();
    const opts = { buckets: [0.1, 1, 10] };
    const jobsA = a.counter("t_jobs_total", "Jobs", ["kind"]);
    const jobsB = b.counter("t_jobs_total", "Jobs", ["kind"]);
    const latA = a.histogram("t_latency_seconds", "Latency", ["op"], opts);
    const latB = b.histogram("t_latency_seconds", "Latency", ["op"], opts);

    jobsA.inc({ kind: "x" }, 2);
    jobsB.inc({ kind: "x" }, 3);
    jobsB.inc({ kind: "y" });
    latA.observe({ op: "q" }, 0.05);
    latA.observe({ op: "q" }, 0.5);
    latB.observe({ op: "q" }, 0.5);
    latB.observe({ op: "q" }, 50);
    await a.flush();
    await b.flush();
    await a.flush(); // nothing new: must not send anything twice

    const { families, contentType } = await scrape();
    expect(contentType).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(sampleValue(families, "t_jobs_total", { kind: "x" })).toBe(5);
    expect(sampleValue(families, "t_jobs_total", { kind: "y" })).toBe(1);
    const bucket = (le: string) => sampleValue(families, "t_latency_seconds_bucket", { op: "q", le });
    expect([bucket("0.1"), bucket("1"), bucket("10"), bucket("+Inf")]).toEqual([1, 3, 3, 4]);
    expect(sampleValue(families, "t_latency_seconds_count", { op: "q" })).toBe(4);
    expect(sampleValue(families, "t_latency_seconds_sum", { op: "q" })).toBeCloseTo(51.05, 10);
  });

  it("keeps the newest gauge value, whichever instance flushes last", async () => {
    const clock = new ManualClock(1_000_000);
    setClock(clock);
    const a = createMetrics();
    const b = createMetrics();
    const ga = a.gauge("t_depth", "Depth", ["q"]);
    const gb = b.gauge("t_depth", "Depth", ["q"]);
    clock.advance(2000);
    ga.set({ q: "events" }, 7);
    clock.advance(-1000); // b's reading is older
    gb.set({ q: "events" }, 3);
    await a.flush();
    await b.flush();
    expect(sampleValue((await scrape()).families, "t_depth", { q: "events" })).toBe(7);

    clock.advance(5000);
    gb.set({ q: "events" }, 1);
    await b.flush();
    expect(sampleValue((await scrape()).families, "t_depth", { q: "events" })).toBe(1);
  });

  it("records HTTP, queue and cron outcomes; routes outside the injected route table become other", async () => {
    const m = createMetrics();
    m.allowRoutes(["GET /health", "DELETE /api/v1/keys/{id}"]);
    m.recordHttp("DELETE /api/v1/keys/{id}", 204, 12);
    m.recordHttp("DELETE /api/v1/keys/{id}", 404, 5);
    m.recordHttp("DELETE /api/v1/keys/{id}", 503, 1500);
    m.recordHttp("GET /wp-login.php", 404, 1);
    m.recordQueue("Events", "done", 20);
    m.recordQueue("Events", "retry", 40);
    m.recordCron("KeyUsageFlush", "ok", 300);
    await m.flush();

    const f = (await scrape()).families;
    const route = "DELETE /api/v1/keys/{id}";
    expect(sampleValue(f, "aos_http_requests_total", { route, status_class: "2xx" })).toBe(1);
    expect(sampleValue(f, "aos_http_requests_total", { route, status_class: "4xx" })).toBe(1);
    expect(sampleValue(f, "aos_http_requests_total", { route, status_class: "5xx" })).toBe(1);
    expect(sampleValue(f, "aos_http_errors_total", { route })).toBe(1);
    expect(sampleValue(f, "aos_http_request_duration_seconds_count", { route })).toBe(3);
    expect(sampleValue(f, "aos_http_request_duration_seconds_sum", { route })).toBeCloseTo(1.517, 10);
    expect(sampleValue(f, "aos_http_requests_total", { route: "other", status_class: "4xx" })).toBe(1);
    expect(
      sampleValue(f, "aos_http_requests_total", { route: "GET /wp-login.php", status_class: "4xx" }),
    ).toBeUndefined();
    expect(sampleValue(f, "aos_queue_records_total", { queue: "Events", outcome: "done" })).toBe(1);
    expect(sampleValue(f, "aos_queue_records_total", { queue: "Events", outcome: "retry" })).toBe(1);
    expect(sampleValue(f, "aos_queue_record_duration_seconds_count", { queue: "Events" })).toBe(2);
    expect(sampleValue(f, "aos_cron_runs_total", { name: "KeyUsageFlush", outcome: "ok" })).toBe(1);
    expect(sampleValue(f, "aos_cron_duration_seconds_bucket", { name: "KeyUsageFlush", le: "0.5" })).toBe(1);
  });
});

describe("label cardinality guard", () => {
  it("maps the (N+1)th distinct value seen by any instance to other and keeps admitted ones", async () => {
    const a = createMetrics({ maxLabelValues: 3 });
    const b = createMetrics({ maxLabelValues: 3 });
    const ca = a.counter("t_card_total", "Card", ["tenant"]);
    const cb = b.counter("t_card_total", "Card", ["tenant"]);
    for (const t of ["t1", "t2", "t3"]) ca.inc({ tenant: t });
    await a.flush();
    cb.inc({ tenant: "t4" }); // the 4th distinct value, seen by another instance
    cb.inc({ tenant: "t5" });
    cb.inc({ tenant: "t2" }); // admitted earlier by a: kept
    await b.flush();

    const f = (await scrape()).families;
    expect(sampleValue(f, "t_card_total", { tenant: "t1" })).toBe(1);
    expect(sampleValue(f, "t_card_total", { tenant: "t2" })).toBe(2);
    expect(sampleValue(f, "t_card_total", { tenant: "t3" })).toBe(1);
    expect(sampleValue(f, "t_card_total", { tenant: "t4" })).toBeUndefined();
    expect(sampleValue(f, "t_card_total", { tenant: "other" })).toBe(2);
    expect(await redis().call(["ZCARD", redis().key("metrics:lv:t_card_total:tenant")])).toBe(3);
  });

  it("keeps every allowlisted value, even past N, and maps unlisted ones to other", async () => {
    const m = createMetrics({ maxLabelValues: 2 });
    const c = m.counter("t_allow_total", "Allow", ["outcome"], { allow: { outcome: ["a", "b", "c", "d"] } });
    for (const o of ["a", "b", "c", "d", "zzz"]) c.inc({ outcome: o });
    await m.flush();

    const f = (await scrape()).families;
    for (const o of ["a", "b", "c", "d"]) expect(sampleValue(f, "t_allow_total", { outcome: o })).toBe(1);
    expect(sampleValue(f, "t_allow_total", { outcome: "zzz" })).toBeUndefined();
    expect(sampleValue(f, "t_allow_total", { outcome: "other" })).toBe(1);
  });

  it("keeps label values with quotes, backslashes, newlines and non-ASCII intact", async () => {
    const m = createMetrics();
    const odd = 'a"b\\c\nd é ✓';
    m.counter("t_odd_total", "Odd", ["v"]).inc({ v: odd }, 2);
    await m.flush();
    expect(sampleValue((await scrape()).families, "t_odd_total", { v: odd })).toBe(2);
  });
});

describe("flush failures", () => {
  it("does not throw when Redis is unreachable, counts the failure, and sends the deltas once Redis is back", async () => {
    const before = sampleValue((await scrape()).families, "aos_metrics_flush_failures_total") ?? 0;
    let client = redisAt(await closedPort());
    const m = createMetrics({ redis: () => client });
    const c = m.counter("t_offline_total", "Offline", ["k"]);
    c.inc({ k: "x" }, 4);

    await expect(m.flush()).resolves.toBeUndefined();
    expect(m.recorder.stats()).toMatchObject({ flushFailures: 1, pendingBatches: 1 });

    client = redis();
    c.inc({ k: "x" }, 1);
    await m.flush();
    expect(m.recorder.stats()).toMatchObject({ flushFailures: 1, pendingBatches: 0 });
    const f = (await scrape()).families;
    expect(sampleValue(f, "t_offline_total", { k: "x" })).toBe(5);
    expect(sampleValue(f, "aos_metrics_flush_failures_total")).toBe(before + 1);
  });

  it("drops batches beyond its bound while Redis is away and counts them once Redis is back", async () => {
    const before = sampleValue((await scrape()).families, "aos_metrics_dropped_batches_total") ?? 0;
    let client = redisAt(await closedPort());
    const m = createMetrics({ redis: () => client, maxPendingBatches: 2 });
    const c = m.counter("t_dropped_total", "Dropped", []);
    for (let i = 0; i < 4; i++) {
      c.inc(1);
      await m.flush();
    }
    expect(m.recorder.stats()).toMatchObject({ flushFailures: 4, pendingBatches: 2 });
    expect(m.recorder.stats().droppedBatches).toBeGreaterThanOrEqual(2);

    client = redis();
    await m.flush();
    await m.flush(); // the drop counted during the previous flush travels with this one
    const { droppedBatches } = m.recorder.stats();
    expect(sampleValue((await scrape()).families, "aos_metrics_dropped_batches_total")).toBe(before + droppedBatches);
    // What was dropped is lost, what was kept arrives: fewer than the 4 increments.
    expect(sampleValue((await scrape()).families, "t_dropped_total")).toBeLessThan(4);
  });

  it("gives up after its timeout when Redis accepts but never answers", async () => {
    const silent = createServer(() => {}); // accepts connections, never replies
    await listen(silent);
    let client = redisAt((silent.address() as { port: number }).port);
    const m = createMetrics({ redis: () => client, flushTimeoutMs: 200 });
    m.counter("t_silent_total", "Silent", []).inc(3);

    const t0 = performance.now();
    await m.flush();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(m.recorder.stats().flushFailures).toBe(1);

    client = redis();
    await m.flush();
    expect(sampleValue((await scrape()).families, "t_silent_total")).toBe(3);
  });

  it("does not count a batch twice when Redis applied it but the reply was lost", async () => {
    // A proxy to the real Redis that, once the client's handshake is done, throws the replies
    // away: the flush times out although Redis applied the batch, so the batch stays pending.
    const target = new URL(config().redisUrl);
    let dropReplies = false;
    const proxy = createServer((downstream) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      downstream.pipe(upstream);
      upstream.on("data", (d) => {
        if (!dropReplies) downstream.write(d);
      });
      for (const s of [downstream, upstream]) s.on("error", () => {});
      downstream.on("close", () => upstream.destroy());
    });
    await listen(proxy);
    let client = redisAt((proxy.address() as { port: number }).port);
    await client.ping();
    dropReplies = true;
    const m = createMetrics({ redis: () => client, flushTimeoutMs: 300 });
    m.counter("t_once_total", "Once", []).inc(7);

    await m.flush();
    expect(m.recorder.stats()).toMatchObject({ flushFailures: 1, pendingBatches: 1 });
    expect(sampleValue((await scrape()).families, "t_once_total")).toBe(7); // applied all the same

    client = redis();
    await m.flush(); // the retry of the same batch
    expect(m.recorder.stats().pendingBatches).toBe(0);
    expect(sampleValue((await scrape()).families, "t_once_total")).toBe(7);
  });

  it("answers unavailable from render when Redis is unreachable", async () => {
    const dead = redisAt(await closedPort());
    const err = await renderMetrics(createMetrics({ redis: () => dead })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ kind: "unavailable", code: "metrics.redis_unavailable" });
  });
});

describe("the whole exposition", () => {
  it("parses as valid Prometheus text with HELP and TYPE for every built-in metric", async () => {
    const m = createMetrics();
    m.recordHttp("GET /health", 200, 3);
    m.histogram("t_valid_seconds", 'Help with a backslash \\ and "quotes"', ["a", "b"]).observe(
      { a: "1", b: "2" },
      0.3,
    );
    await m.flush();
    const { families } = await scrape();
    for (const name of [
      "aos_http_requests_total",
      "aos_http_errors_total",
      "aos_http_request_duration_seconds",
      "aos_queue_records_total",
      "aos_queue_record_duration_seconds",
      "aos_cron_runs_total",
      "aos_cron_duration_seconds",
      "aos_metrics_flush_failures_total",
    ]) {
      expect(families.get(name)?.type, name).toMatch(/^(counter|histogram)$/);
      expect(families.get(name)?.help, name).toBeTruthy();
    }
    expect(families.get("t_valid_seconds")?.type).toBe("histogram");
  });
});
