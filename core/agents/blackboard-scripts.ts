/**
 * The blackboard's Lua scripts: each write to a namespace is one atomic script over that
 * namespace's keys (KEYS[1] is its base, `bb:{<tenant>:<ns>}`; the others are derived from it,
 * all in one hash slot). Per namespace:
 *   <base>:data  hash   key -> the entry: a header line `<version> <expiry ms, 0: none>[ <field>
 *                       <number>]...` (the numeric fields it contributes, as the caller sent them),
 *                       a newline, then the value's JSON text
 *   <base>:idx   zset   key (score 0): listing in key order by cursor (ZRANGEBYLEX), no SCAN
 *   <base>:exp   zset   key -> expiry (epoch ms) for keys with a TTL; purged lazily, 100 a call
 *   <base>:sum   hash   field -> sum over the keys having it
 *   <base>:f:<field> zset  key -> the field's value: count (ZCARD), min, max, top N
 *   <base>:fin   string set by the AgentSweep when the namespace is `job:<id>` of a finished job
 * so aggregation reads a few entries of these, never every key, and a get is one HGET of :data
 * with no script (blackboard.ts; an entry past its expiry reads as absent, the next write's purge
 * removes it). A write compares the fields it brings with the header's: an unchanged number
 * costs nothing, a changed one its sum and its set, a gone one its removal.
 *
 * The layout before (until December 2026) kept the value alone in :data (JSON: never a newline)
 * with the version in <base>:ver and the field names in <base>:kf. Such an entry is still read
 * (`parse` below, and the get's fallback script GET) and becomes an entry of this layout at its
 * next write, which removes its :ver and :kf fields; decision 0017 says when this can go.
 *
 * Writes keep the namespace's idle TTL (BLACKBOARD_NAMESPACE_TTL_S) within a minute of full
 * (Redis >= 7.0: PEXPIRE NX); once `:fin` exists no write sets a TTL longer than what it has
 * left, so a finished job's board is gone BLACKBOARD_JOB_NAMESPACE_TTL_S after the sweep saw the
 * job settled.
 */
import { RedisScript } from "../platform/redis-client.ts";

/** A tenant's namespace's base key, `bb:{<tenant>:<ns>}`: the braces keep its keys in one hash slot. */
export const boardBase = (tenantId: string, ns: string) => `bb:{${tenantId}:${ns}}`;

/** Every key of a namespace but the field sets (found through :sum) and :fin; :ver and :kf only in the layout before. */
const STRUCTURES = `{':data', ':idx', ':exp', ':sum', ':ver', ':kf'}`;

const common = `
local base = KEYS[1]
local D = base .. ':data'
-- An entry as a table: ver, exp (0: none), json, and its fields: ftext (the header's text after
-- the expiry) or, for the layout before, fields (name, number, ...) and legacy.
local function parse(key, raw)
  local nl = string.find(raw, '\\n', 1, true)
  if nl then
    local ver, exp, ftext = string.match(string.sub(raw, 1, nl - 1), '^(%d+) (%d+) ?(.*)$')
    return {ver = tonumber(ver), exp = tonumber(exp), ftext = ftext, json = string.sub(raw, nl + 1)}
  end
  -- The layout before: the JSON alone, the version in :ver, the field names in :kf.
  local e = {json = raw, legacy = true, fields = {}}
  e.ver = tonumber(redis.call('HGET', base .. ':ver', key) or '0')
  e.exp = tonumber(redis.call('ZSCORE', base .. ':exp', key) or '0')
  local fl = redis.call('HGET', base .. ':kf', key)
  if fl then
    for f in string.gmatch(fl, '%S+') do
      local n = redis.call('ZSCORE', base .. ':f:' .. f, key)
      if n then
        e.fields[#e.fields + 1] = f
        e.fields[#e.fields + 1] = n
      end
    end
  end
  return e
end
local function fieldsOf(e)
  if not e.fields then
    e.fields = {}
    for t in string.gmatch(e.ftext, '%S+') do e.fields[#e.fields + 1] = t end
  end
  return e.fields
end
local function neg(n)
  if string.sub(n, 1, 1) == '-' then return string.sub(n, 2) end
  return '-' .. n
end
local function drop(key, e)
  local fields = fieldsOf(e)
  for i = 1, #fields, 2 do
    redis.call('HINCRBYFLOAT', base .. ':sum', fields[i], neg(fields[i + 1]))
    redis.call('ZREM', base .. ':f:' .. fields[i], key)
  end
  redis.call('HDEL', D, key)
  redis.call('ZREM', base .. ':idx', key)
  if e.exp > 0 then redis.call('ZREM', base .. ':exp', key) end
  if e.legacy then
    redis.call('HDEL', base .. ':ver', key)
    redis.call('HDEL', base .. ':kf', key)
  end
end
local function purge(now)
  local gone = redis.call('ZRANGEBYSCORE', base .. ':exp', '-inf', now, 'LIMIT', 0, 100)
  for _, k in ipairs(gone) do
    local raw = redis.call('HGET', D, k)
    if raw then drop(k, parse(k, raw)) else redis.call('ZREM', base .. ':exp', k) end
  end
end
-- The key's entry, or nil when absent or past its expiry (then removed at once).
local function live(key, now)
  local raw = redis.call('HGET', D, key)
  if not raw then return nil end
  local e = parse(key, raw)
  if e.exp > 0 and e.exp <= now then
    drop(key, e)
    return nil
  end
  return e
end
-- The namespace's idle expiry. Every key of a namespace expires at the same instant (so an
-- expired namespace is gone whole, never half). A full refresh (a PEXPIRE per key, the field sets
-- found through the sums' hash) only when :data has no expiry (it was just created) or its expiry
-- has run down by more than a minute: most writes pay one PTTL. Keys a write may have created
-- (:exp; :sum and a field's set when a ZADD added a member) get :data's expiry at once (PEXPIRE
-- NX, Redis >= 7.0). A finished job's namespace (:fin, set by the sweep, which shortened every
-- key) is never lengthened: its expiry is what :fin has left.
local function touch(ttl, created, hasTtl)
  local left = redis.call('PTTL', D)
  local full = left < 0 or ttl - left >= 60000
  if full then
    local fin = redis.call('PTTL', base .. ':fin')
    if fin > 0 and fin < ttl then
      ttl = fin
      full = left < 0
    end
  end
  if full then
    for _, s in ipairs(${STRUCTURES}) do redis.call('PEXPIRE', base .. s, ttl) end
    for _, f in ipairs(redis.call('HKEYS', base .. ':sum')) do redis.call('PEXPIRE', base .. ':f:' .. f, ttl) end
    return
  end
  if hasTtl then redis.call('PEXPIRE', base .. ':exp', left, 'NX') end
  if #created > 0 then
    redis.call('PEXPIRE', base .. ':sum', left, 'NX')
    for _, f in ipairs(created) do redis.call('PEXPIRE', base .. ':f:' .. f, left, 'NX') end
  end
end
-- old: the key's live entry, or nil. Returns the new version. The fields are compared as the
-- text the caller sent: all unchanged (the header's text the same) costs nothing; else a changed
-- number costs its sum back and forth and a ZADD, a gone one its removal.
local function write(key, value, now, ttl, fields, nsTtl, old)
  local v, ftext, created = 1, table.concat(fields, ' '), {}
  if old then v = old.ver + 1 end
  if not (old and old.ftext == ftext) then
    local had, has = {}, {}
    if old then
      local of = fieldsOf(old)
      for i = 1, #of, 2 do had[of[i]] = of[i + 1] end
    end
    for i = 1, #fields, 2 do has[fields[i]] = fields[i + 1] end
    for f, n in pairs(had) do
      if has[f] ~= n then
        redis.call('HINCRBYFLOAT', base .. ':sum', f, neg(n))
        if not has[f] then redis.call('ZREM', base .. ':f:' .. f, key) end
      end
    end
    for i = 1, #fields, 2 do
      local f, n = fields[i], fields[i + 1]
      if had[f] ~= n then
        if redis.call('ZADD', base .. ':f:' .. f, n, key) == 1 then created[#created + 1] = f end
        redis.call('HINCRBYFLOAT', base .. ':sum', f, n)
      end
    end
  end
  local e = 0
  if ttl > 0 then
    e = now + ttl
    redis.call('ZADD', base .. ':exp', e, key)
  elseif old and old.exp > 0 then
    redis.call('ZREM', base .. ':exp', key)
  end
  local head = string.format('%d %d', v, e)
  if ftext ~= '' then head = head .. ' ' .. ftext end
  redis.call('HSET', D, key, head .. '\\n' .. value)
  if not old then redis.call('ZADD', base .. ':idx', 0, key) end
  if old and old.legacy then
    redis.call('HDEL', base .. ':ver', key)
    redis.call('HDEL', base .. ':kf', key)
  end
  touch(nsTtl, created, ttl > 0)
  return v
end
`;

/**
 * Put. ARGV: key, value, now ms, ttl ms (0: none), if_version (-1: any; 0: only if absent),
 * namespace ttl ms, then field/number pairs. Returns {version} or {-1, current version}.
 */
export const PUT = /* @__PURE__ */ new RedisScript(`${common}
local key, now, ttl, ifv = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
purge(now)
local e = live(key, now)
local cur = 0
if e then cur = e.ver end
if ifv >= 0 and cur ~= ifv then return {-1, cur} end
local fields = {}
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
return {write(key, ARGV[2], now, ttl, fields, tonumber(ARGV[6]), e)}
`);

/**
 * Incr. ARGV: key, by, now ms, ttl ms (0: keep the entry's), namespace ttl ms. The value must be
 * a number (absent: 0). Returns {version, new value as text} or {-1, 'not_a_number'}.
 */
export const INCR = /* @__PURE__ */ new RedisScript(`${common}
local key, by, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
purge(now)
local e = live(key, now)
local cur = 0
if e then
  cur = tonumber(e.json)
  if not cur then return {-1, 'not_a_number'} end
  if ttl == 0 and e.exp > 0 then ttl = e.exp - now end
end
local n = cur + by
local text = string.format('%.17g', n)
if n == math.floor(n) and math.abs(n) < 1e15 then text = string.format('%d', n) end
return {write(key, text, now, ttl, {'value', text}, tonumber(ARGV[5]), e), text}
`);

/**
 * Get, for an entry of the layout before only (blackboard.ts reads :data with one HGET and comes
 * here when the entry has no header). ARGV: key. Returns the entry as this layout writes it
 * (`<version> <expiry>` then a newline and the JSON) or nil.
 */
export const GET = /* @__PURE__ */ new RedisScript(`${common}
local key = ARGV[1]
local raw = redis.call('HGET', D, key)
if not raw then return nil end
local e = parse(key, raw)
return string.format('%d %d', e.ver, e.exp) .. '\\n' .. e.json
`);

/** Delete. ARGV: key, now ms, if_version (-1: any). Returns 1 deleted, 0 absent, {-1, current} on a mismatch. */
export const DELETE = /* @__PURE__ */ new RedisScript(`${common}
local key, now, ifv = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
purge(now)
local e = live(key, now)
if not e then return 0 end
if ifv >= 0 and e.ver ~= ifv then return {-1, e.ver} end
drop(key, e)
return 1
`);

/**
 * List in key order after a cursor. ARGV: now ms, after (exclusive; '' from the start), limit.
 * Returns a flat array key, entry (as :data holds it in this layout) per entry.
 */
export const LIST = /* @__PURE__ */ new RedisScript(`${common}
local now, after, limit = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
purge(now)
local from = '-'
if after ~= '' then from = '(' .. after end
local keys = redis.call('ZRANGEBYLEX', base .. ':idx', from, '+', 'LIMIT', 0, limit)
local out = {}
for _, k in ipairs(keys) do
  local raw = redis.call('HGET', D, k) or '0 0\\nnull'
  if not string.find(raw, '\\n', 1, true) then
    local e = parse(k, raw)
    raw = string.format('%d %d', e.ver, e.exp) .. '\\n' .. e.json
  end
  out[#out + 1] = k
  out[#out + 1] = raw
end
return out
`);

/**
 * Aggregate a numeric field. ARGV: now ms, field, top N. Returns {count of keys, count with the
 * field, sum, min key, min, max key, max, then top N key/score pairs}.
 */
export const AGGREGATE = /* @__PURE__ */ new RedisScript(`${common}
local now, f, n = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
purge(now)
local z = base .. ':f:' .. f
local out = {redis.call('ZCARD', base .. ':idx'), redis.call('ZCARD', z), redis.call('HGET', base .. ':sum', f) or '0'}
local lo = redis.call('ZRANGE', z, 0, 0, 'WITHSCORES')
local hi = redis.call('ZRANGE', z, -1, -1, 'WITHSCORES')
out[4] = lo[1] or '' out[5] = lo[2] or '' out[6] = hi[1] or '' out[7] = hi[2] or ''
if n > 0 then
  local top = redis.call('ZREVRANGE', z, 0, n - 1, 'WITHSCORES')
  for _, x in ipairs(top) do out[#out + 1] = x end
end
return out
`);

/**
 * A finished job's namespace expires soon. ARGV: ttl ms. Sets `:fin` (only once: 0 when it was
 * set already) and shortens the expiry of every key of the namespace (never lengthens one);
 * the field sets are found through the sums' hash, which names every aggregated field.
 */
export const EXPIRE_NS = /* @__PURE__ */ new RedisScript(`
local base, ttl = KEYS[1], tonumber(ARGV[1])
if not redis.call('SET', base .. ':fin', '1', 'PX', ttl, 'NX') then return 0 end
local function shorten(k)
  local left = redis.call('PTTL', k)
  if left == -1 or left > ttl then redis.call('PEXPIRE', k, ttl) end
end
for _, f in ipairs(redis.call('HKEYS', base .. ':sum')) do shorten(base .. ':f:' .. f) end
for _, s in ipairs(${STRUCTURES}) do shorten(base .. s) end
return 1
`);
