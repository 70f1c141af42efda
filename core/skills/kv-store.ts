/**
 * kv_store: get, set (with TTL), delete, incr, exists and mget on Redis, namespaced per tenant
 * (`skills:kv:<tenant id>:<key>` under the stage prefix), so a tenant can never name another's
 * keys. Values are JSON, at most SKILL_KV_MAX_VALUE_BYTES once serialised.
 *
 * On failure: an unreachable or failing Redis -> 503 `skills.kv_unavailable` (retryable; the
 * skill does not retry itself, since a lost reply to INCRBY could count twice); a value too large
 * or a TTL too long -> 400 naming `args.value` / `args.ttl_s`; incr on a value that is not an
 * integer -> 400 `skills.kv_not_integer` naming `args.key`.
 *
 * @example
 *   await Skills.execute("kv_store", { op: "incr", key: "visits:2026-11-22", ttl_s: 86_400 });
 */
import { config } from "../config.ts";
import { AppError, InternalError, UnavailableError, ValidationError } from "../errors.ts";
import { redis } from "../platform/redis.ts";
import { RedisReplyError, RedisScript } from "../platform/redis-client.ts";
import type { kvStoreSpec } from "./kv-store-spec.ts";
import type { SkillRun } from "./types.ts";

export const kvStore = {
  async run(args, ctx) {
    const k = (key: string) => kvKey(ctx.tenantId, key);
    const f = ctx.argsField;
    return onRedis(async (r) => {
      switch (args.op) {
        case "get": {
          const raw = await r.get(k(args.key));
          return { op: "get", value: raw === null ? null : fromStored(raw), found: raw !== null };
        }
        case "set": {
          const json = toStored(args.value, f);
          const ttl = checkTtl(args.ttl_s, f);
          if (ttl === undefined) await r.set(k(args.key), json);
          else await r.set(k(args.key), json, "EX", ttl);
          return { op: "set" };
        }
        case "delete":
          return { op: "delete", deleted: await r.del(k(args.key)) };
        case "exists":
          return { op: "exists", exists: (await r.exists(k(args.key))) === 1 };
        case "incr": {
          const ttl = checkTtl(args.ttl_s, f) ?? 0;
          try {
            const value = await r.eval(INCR_SCRIPT, [k(args.key)], [String(args.value ?? 1), String(ttl)]);
            return { op: "incr", value: Number(value) };
          } catch (e) {
            if (/not an integer|out of range/i.test(replyMessage(e) ?? ""))
              throw new ValidationError(
                "kv_store incr: the stored value is not an integer, or the sum leaves the 64-bit range",
                [{ field: `${f}.key`, message: "holds a value that is not an integer (or would overflow)" }],
                "skills.kv_not_integer",
              );
            throw e;
          }
        }
        case "mget": {
          const raws = await r.mget(...args.keys.map(k));
          return { op: "mget", values: raws.map((raw) => (raw === null ? null : fromStored(raw))) };
        }
      }
    });
  },
} satisfies SkillRun<typeof kvStoreSpec>;

/**
 * The Redis key of a tenant's key (before the stage prefix the Redis client adds). The tenant id is a
 * fixed-length uuid without ':', so whatever characters `key` holds (':', '*', '..') it cannot
 * land in another tenant's namespace; patterns are never used, so '*' is just a character.
 */
export const kvKey = (tenantId: string, key: string): string => `skills:kv:${tenantId}:${key}`;

/**
 * INCRBY and its TTL in one atomic step. The TTL is set only when the key has none (new, or set
 * without a TTL): a counter with ttl_s is a fixed window that starts at its first increment,
 * rather than one that every increment extends and that therefore never expires while in use.
 */
const INCR_SCRIPT = /* @__PURE__ */ new RedisScript(`
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if ttl > 0 and redis.call('TTL', KEYS[1]) == -1 then redis.call('EXPIRE', KEYS[1], ttl) end
return v`);

function toStored(value: unknown, f: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (e) {
    throw new ValidationError("kv_store set: the value is not JSON", [{ field: `${f}.value`, message: String(e) }]);
  }
  // `undefined` (the field left out) has no JSON text: null must be said explicitly.
  if (json === undefined)
    throw new ValidationError("kv_store set needs a value", [
      { field: `${f}.value`, message: "required (use null to store null)" },
    ]);
  const max = config().skills.kv.maxValueBytes;
  const bytes = Buffer.byteLength(json, "utf8");
  if (bytes > max)
    throw new ValidationError(
      `kv_store set: the value is ${bytes} bytes as JSON, above the limit of ${max}`,
      [{ field: `${f}.value`, message: `at most ${max} bytes as JSON` }],
      "skills.kv_value_too_large",
    );
  return json;
}

/** Every value this skill writes is JSON (INCRBY's integers included); anything else comes back as text. */
function fromStored(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function checkTtl(ttl: number | undefined, f: string): number | undefined {
  const max = config().skills.kv.maxTtlS;
  if (ttl !== undefined && ttl > max)
    throw new ValidationError(
      `kv_store: ttl_s ${ttl} is above the limit of ${max} s`,
      [{ field: `${f}.ttl_s`, message: `at most ${max}` }],
      "skills.kv_ttl_too_long",
    );
  return ttl;
}

/** The message of an error reply from Redis; undefined for other failures. */
const replyMessage = (e: unknown): string | undefined => (e instanceof RedisReplyError ? e.message : undefined);

/** Replies that say Redis is busy, loading or failing over, not that the command was wrong. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|READONLY|OOM|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|MISCONF)\b/;

/**
 * Run the op and sort its failures: our own AppErrors pass through; a transient reply or any
 * connection-level failure (refused, reset, no answer within the deadline) is a 503 the caller may
 * retry; any other reply error means we sent a wrong command, a bug.
 */
async function onRedis<T>(fn: (r: ReturnType<typeof redis>) => Promise<T>): Promise<T> {
  try {
    return await fn(redis());
  } catch (e) {
    if (e instanceof AppError) throw e;
    const reply = replyMessage(e);
    if (reply !== undefined && !TRANSIENT_REPLY.test(reply))
      throw new InternalError("kv_store: Redis refused the command", { cause: e });
    throw new UnavailableError("skills.kv_unavailable", "The key-value store is unavailable; retry later", {
      retryable: true,
      cause: e,
    });
  }
}
