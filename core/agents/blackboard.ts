/**
 * The blackboard: JSON values under keys in namespaces of a tenant, on Redis. Each entry has a
 * version (compare-and-set with `if_version`), an optional TTL, and feeds the namespace's
 * incremental aggregates (count, sum, min, max, avg, top N of each top-level numeric field), so
 * aggregation never reads every key. Listing walks the namespace's own index by cursor, never a
 * SCAN of the keyspace. Tenants never meet: the tenant id is part of every Redis key.
 * Scripts and layout: blackboard-scripts.ts.
 */
import { config } from "../config.ts";
import { useTenant } from "../context.ts";
import { ConflictError, UnavailableError, ValidationError } from "../errors.ts";
import { clock } from "../platform/clock.ts";
import { redis } from "../platform/redis.ts";
import { RedisReplyError, RedisUnavailableError } from "../platform/redis-client.ts";
import * as scripts from "./blackboard-scripts.ts";
import { BlackboardEntryNotFoundError, BlackboardVersionError } from "./errors.ts";
import { agentMetrics } from "./metrics.ts";
import type {
  Aggregate,
  AggregateQuery,
  BoardEntry,
  BoardIncr,
  BoardListQuery,
  BoardPage,
  BoardPut,
} from "./schema.ts";

/** Top-level numeric fields of a value that are aggregated, at most. */
const MAX_FIELDS = 16;
const FIELD = /^[A-Za-z0-9_]{1,64}$/;

const baseOf = (ns: string) => scripts.boardBase(useTenant(), ns);

type Op = "put" | "get" | "delete" | "incr" | "list" | "aggregate";

async function timed<T>(op: Op, fn: () => Promise<T>): Promise<T> {
  const stop = agentMetrics.blackboardSeconds.startTimer({ op });
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RedisUnavailableError)
      throw new UnavailableError("blackboard.unavailable", "The blackboard's store (Redis) did not answer", {
        cause: err,
        retryAfterS: 1,
      });
    throw err;
  } finally {
    stop();
  }
}

/** The numbers a value contributes to the aggregates: a bare number as `value`, else its numeric fields. */
function numericFields(value: unknown): string[] {
  if (typeof value === "number" && Number.isFinite(value)) return ["value", String(value)];
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [];
  const out: string[] = [];
  for (const [f, v] of Object.entries(value)) {
    if (out.length >= MAX_FIELDS * 2) break;
    if (FIELD.test(f) && typeof v === "number" && Number.isFinite(v)) out.push(f, String(v));
  }
  return out;
}

const expiry = (ms: string | number | null | undefined) =>
  ms === "" || ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString();

/** Write `key` (compare-and-set with `if_version`); 409 blackboard.version_mismatch with the current version. */
export function put(ns: string, key: string, body: BoardPut): Promise<BoardEntry> {
  return timed("put", async () => {
    const json = JSON.stringify(body.value ?? null);
    if (Buffer.byteLength(json) > config().agents.blackboardMaxValueBytes)
      throw new ValidationError("Value too large", [
        { field: "body.value", message: `larger than ${config().agents.blackboardMaxValueBytes} bytes as JSON` },
      ]);
    const now = clock().nowMs();
    const ttlMs = (body.ttl_s ?? 0) * 1000;
    const reply = (await redis().eval(
      scripts.PUT,
      [baseOf(ns)],
      [key, json, now, ttlMs, body.if_version ?? -1, nsTtlMs(), ...numericFields(body.value)],
    )) as number[];
    if (reply[0] === -1) throw new BlackboardVersionError(ns, key, body.if_version ?? -1, reply[1] ?? 0);
    return {
      ns,
      key,
      value: body.value ?? null,
      version: reply[0] as number,
      expires_at: ttlMs ? expiry(now + ttlMs) : null,
    };
  });
}

const nsTtlMs = () => config().agents.blackboardNamespaceTtlS * 1000;

/** One entry; 404 when absent or expired. */
export function get(ns: string, key: string): Promise<BoardEntry> {
  return timed("get", async () => {
    const reply = (await redis().eval(scripts.GET, [baseOf(ns)], [key, clock().nowMs()])) as string[] | null;
    if (!reply) throw new BlackboardEntryNotFoundError(ns, key);
    return { ns, key, value: JSON.parse(reply[0] as string), version: Number(reply[1]), expires_at: expiry(reply[2]) };
  });
}

/** Delete (compare-and-set with `if_version`); 404 when absent. */
export function remove(ns: string, key: string, ifVersion?: number): Promise<void> {
  return timed("delete", async () => {
    const reply = (await redis().eval(scripts.DELETE, [baseOf(ns)], [key, clock().nowMs(), ifVersion ?? -1])) as
      | number
      | number[];
    if (Array.isArray(reply)) throw new BlackboardVersionError(ns, key, ifVersion ?? -1, reply[1] ?? 0);
    if (reply === 0) throw new BlackboardEntryNotFoundError(ns, key);
  });
}

/** Add `by` to a numeric entry atomically (absent: from 0); 409 when the entry is not a number. */
export function incr(ns: string, key: string, body: BoardIncr): Promise<BoardEntry> {
  return timed("incr", async () => {
    const now = clock().nowMs();
    const ttlMs = (body.ttl_s ?? 0) * 1000;
    let reply: [number, string];
    try {
      reply = (await redis().eval(scripts.INCR, [baseOf(ns)], [key, body.by, now, ttlMs, nsTtlMs()])) as [
        number,
        string,
      ];
    } catch (err) {
      if (err instanceof RedisReplyError)
        throw new ConflictError("blackboard.not_a_number", `${ns}/${key}: ${err.message}`);
      throw err;
    }
    if (reply[0] === -1)
      throw new ConflictError("blackboard.not_a_number", `${ns}/${key} does not hold a number`, {
        details: { ns, key },
      });
    return { ns, key, value: Number(reply[1]), version: reply[0], expires_at: ttlMs ? expiry(now + ttlMs) : null };
  });
}

/** The namespace's live entries in key order, by cursor (the last key of the previous page). */
export function list(ns: string, q: BoardListQuery): Promise<BoardPage> {
  return timed("list", async () => {
    const flat = (await redis().eval(
      scripts.LIST,
      [baseOf(ns)],
      [clock().nowMs(), q.cursor ?? "", q.limit + 1],
    )) as string[];
    const data: BoardEntry[] = [];
    for (let i = 0; i + 3 < flat.length; i += 4)
      data.push({
        ns,
        key: flat[i] as string,
        value: JSON.parse(flat[i + 1] as string),
        version: Number(flat[i + 2]),
        expires_at: expiry(flat[i + 3]),
      });
    const more = data.length > q.limit;
    const page = more ? data.slice(0, q.limit) : data;
    return { data: page, next_cursor: more ? (page[page.length - 1]?.key ?? null) : null };
  });
}

/** count, sum, min, max, avg and top N of a numeric field, from the incremental aggregates. */
export function aggregate(ns: string, q: AggregateQuery): Promise<Aggregate> {
  return timed("aggregate", async () => {
    const r = (await redis().eval(scripts.AGGREGATE, [baseOf(ns)], [clock().nowMs(), q.field, q.top])) as (
      | string
      | number
    )[];
    const fieldCount = Number(r[1]);
    const sum = Number(r[2]);
    const top: { key: string; value: number }[] = [];
    for (let i = 7; i + 1 < r.length; i += 2) top.push({ key: String(r[i]), value: Number(r[i + 1]) });
    return {
      ns,
      field: q.field,
      count: Number(r[0]),
      field_count: fieldCount,
      sum,
      min: r[4] === "" ? null : Number(r[4]),
      max: r[6] === "" ? null : Number(r[6]),
      avg: fieldCount ? sum / fieldCount : null,
      top,
    };
  });
}
