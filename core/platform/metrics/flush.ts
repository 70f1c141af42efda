/**
 * Writing one invocation's metric deltas to Redis: a batch is ONE Lua script call that, atomically,
 *   - skips the whole batch if its recorder already had a batch with this or a later sequence
 *     number applied (a retry after a lost reply adds nothing; batches of one recorder are sent in
 *     order, oldest first, so a later number means this one was applied or can never be),
 *   - records each metric's definition in `metrics:meta` (so any process can render it),
 *   - maps label values beyond the first N distinct ones seen for that metric+label to `other`
 *     (ZSET per metric+label, checked and extended inside the script, so two instances can not
 *     both admit the (N+1)th value),
 *   - HINCRBYFLOATs counters and histogram buckets/_sum/_count, and keeps the newest gauge value.
 * Several pending batches go in one pipeline: one round trip per flush.
 */
import { type RedisClient, RedisScript } from "../redis-client.ts";
import { keys, type MetricDef, OTHER, storedDef } from "./definitions.ts";

export type SeriesData =
  | { kind: "c"; value: number }
  /** `buckets[i]` counts observations in (buckets[i-1], buckets[i]]: not cumulative, so bounds merge one by one. */
  | { kind: "h"; sum: number; count: number; buckets: number[] }
  | { kind: "g"; value: number; ts: number };

export interface Series {
  /** [label, value] sorted by label name; allowlisted labels already mapped to `other` locally. */
  labels: (readonly [string, string])[];
  data: SeriesData;
}

export interface Batch {
  seq: number;
  createdAt: number;
  keys: string[];
  argv: string[];
}

/**
 * How long a recorder's last applied sequence number is remembered (refreshed by each batch): one
 * small key per live instance. Pending batches are dropped long before that.
 */
export const APPLIED_SEQ_TTL_S = 3600;

// KEYS[1] last applied seq of the recorder, KEYS[2] meta hash, then value hashes and label-value
// ZSETs (by index). ARGV[1] max label values, ARGV[2] now (ms), ARGV[3] seq TTL (s), ARGV[4] this
// batch's seq, ARGV[5] payload JSON:
// { m: [[name, defJSON]], s: [[kind, keyIdx, [[label, raw, jsonEncoded, guardKeyIdx]], data]] }
// The hash field is the label set as JSON with sorted keys, built from the pre-encoded values so
// that it is byte for byte what JSON.stringify produces in the renderer.
const script = /* @__PURE__ */ new RedisScript(`
if tonumber(ARGV[4]) <= tonumber(redis.call('GET', KEYS[1]) or '0') then return 0 end
redis.call('SET', KEYS[1], ARGV[4], 'EX', ARGV[3])
local max = tonumber(ARGV[1])
local now = ARGV[2]
local p = cjson.decode(ARGV[5])
for _, m in ipairs(p.m) do redis.call('HSET', KEYS[2], m[1], m[2]) end
local seen = {}
local function admit(k, v)
  local c = seen[k]
  if c == nil then c = {}; seen[k] = c end
  if c[v] ~= nil then return c[v] end
  local ok = true
  if not redis.call('ZSCORE', KEYS[k], v) then
    if redis.call('ZCARD', KEYS[k]) < max then redis.call('ZADD', KEYS[k], 'NX', now, v) else ok = false end
  end
  c[v] = ok
  return ok
end
for _, s in ipairs(p.s) do
  local parts = {}
  for i, l in ipairs(s[3]) do
    local enc = l[3]
    if l[4] > 0 and not admit(l[4], l[2]) then enc = '"${OTHER}"' end
    parts[i] = '"' .. l[1] .. '":' .. enc
  end
  local field = '{' .. table.concat(parts, ',') .. '}'
  local key = KEYS[s[2]]
  if s[1] == 'c' then
    redis.call('HINCRBYFLOAT', key, field, s[4])
  elseif s[1] == 'h' then
    for _, b in ipairs(s[4]) do redis.call('HINCRBYFLOAT', key, field .. '\\t' .. b[1], b[2]) end
  else
    local old = redis.call('HGET', key, field)
    if (not old) or tonumber(string.match(old, '^(%S+)')) <= tonumber(s[4][2]) then
      redis.call('HSET', key, field, s[4][2] .. ' ' .. s[4][1])
    end
  end
end
return 1
`);

/** One batch from a snapshot of pending series; `undefined` when there is nothing to send. */
export function buildBatch(
  recorderId: string,
  seq: number,
  createdAt: number,
  metrics: ReadonlyMap<MetricDef, ReadonlyMap<string, Series>>,
  maxLabelValues: number,
): Batch | undefined {
  const keyList = [keys.appliedSeq(recorderId), keys.meta];
  const keyIndex = new Map<string, number>();
  const idx = (k: string): number => {
    let i = keyIndex.get(k);
    if (i === undefined) {
      keyList.push(k);
      i = keyList.length; // Lua is 1-based
      keyIndex.set(k, i);
    }
    return i;
  };
  const meta: [string, string][] = [];
  const series: unknown[] = [];
  for (const [def, list] of metrics) {
    const valuesKey = idx(keys.values(def.type, def.name));
    let any = false;
    for (const s of list.values()) {
      any = true;
      const labels = s.labels.map(([name, value]) => [
        name,
        value,
        JSON.stringify(value),
        def.allow.has(name) ? 0 : idx(keys.labelValues(def.name, name)),
      ]);
      series.push([s.data.kind, valuesKey, labels, encodeData(s.data, def)]);
    }
    if (any) meta.push([def.name, JSON.stringify(storedDef(def))]);
  }
  if (!series.length) return undefined;
  return {
    seq,
    createdAt,
    keys: keyList,
    argv: [
      String(maxLabelValues),
      String(createdAt),
      String(APPLIED_SEQ_TTL_S),
      String(seq),
      JSON.stringify({ m: meta, s: series }),
    ],
  };
}

// Numbers travel as strings: Lua would format a number with 14 significant digits.
function encodeData(d: SeriesData, def: MetricDef): unknown {
  if (d.kind === "c") return String(d.value);
  if (d.kind === "g") return [String(d.value), String(d.ts)];
  const parts: [string, string][] = [
    ["sum", String(d.sum)],
    ["count", String(d.count)],
  ];
  d.buckets.forEach((n, i) => {
    if (n > 0) parts.push([`le:${def.buckets?.[i]}`, String(n)]);
  });
  return parts;
}

/**
 * Send the batches (one recorder's, oldest first) in one pipeline. Resolves with one entry per
 * batch: `undefined` when it was applied (now or by an earlier attempt), or the error. Rejects
 * only when the pipeline as a whole got no answer (Redis away, or later than `timeoutMs`).
 */
export async function applyBatches(
  client: RedisClient,
  batches: readonly Batch[],
  timeoutMs?: number,
): Promise<(Error | undefined)[]> {
  // EVAL on a connection's first use, EVALSHA afterwards: still one round trip.
  const pipe = client.pipeline();
  for (const b of batches) pipe.eval(script, b.keys, b.argv);
  const results = await pipe.exec(timeoutMs);
  return batches.map((_, i) => results[i]?.[0] ?? undefined);
}
