/**
 * The blackboard's Lua scripts: each operation on a namespace is one atomic script over that
 * namespace's keys (KEYS[1] is its base, `bb:{<tenant>:<ns>}`; the others are derived from it,
 * all in one hash slot). Per namespace:
 *   <base>:data  hash   key -> value (JSON text)
 *   <base>:ver   hash   key -> version (1 on create, +1 per write)
 *   <base>:idx   zset   key (score 0): listing in key order by cursor (ZRANGEBYLEX), no SCAN
 *   <base>:exp   zset   key -> expiry (epoch ms) for keys with a TTL; purged lazily, 100 a call
 *   <base>:kf    hash   key -> the numeric fields it contributes (space-separated)
 *   <base>:sum   hash   field -> sum over the keys having it
 *   <base>:f:<field> zset  key -> the field's value: count (ZCARD), min, max, top N
 *   <base>:fin   string set by the AgentSweep when the namespace is `job:<id>` of a finished job
 * so aggregation reads a few entries of these, never every key. Writes keep the namespace's idle
 * TTL (BLACKBOARD_NAMESPACE_TTL_S) within a minute of full (Redis >= 7.0: PEXPIRE NX); once `:fin` exists no write sets a TTL
 * longer than what it has left, so a finished job's board is gone BLACKBOARD_JOB_NAMESPACE_TTL_S
 * after the sweep saw the job settled.
 */
import { RedisScript } from "../platform/redis-client.ts";

/** A tenant's namespace's base key, `bb:{<tenant>:<ns>}`: the braces keep its keys in one hash slot. */
export const boardBase = (tenantId: string, ns: string) => `bb:{${tenantId}:${ns}}`;

const common = `
local base = KEYS[1]
local function unagg(key)
  local fl = redis.call('HGET', base .. ':kf', key)
  if fl then
    for f in string.gmatch(fl, '%S+') do
      local n = redis.call('ZSCORE', base .. ':f:' .. f, key)
      if n then
        local neg = '-' .. n
        if string.sub(n, 1, 1) == '-' then neg = string.sub(n, 2) end
        redis.call('ZREM', base .. ':f:' .. f, key)
        if redis.call('ZCARD', base .. ':f:' .. f) == 0 then redis.call('HDEL', base .. ':sum', f)
        else redis.call('HINCRBYFLOAT', base .. ':sum', f, neg) end
      end
    end
    redis.call('HDEL', base .. ':kf', key)
  end
end
local function drop(key)
  unagg(key)
  redis.call('HDEL', base .. ':data', key)
  redis.call('HDEL', base .. ':ver', key)
  redis.call('ZREM', base .. ':idx', key)
  redis.call('ZREM', base .. ':exp', key)
end
-- The key as a write sees it: dropped, and so absent (version 0), once past its expiry, even
-- when the purge (100 a call, oldest first) has not reached it.
local function live(key, now)
  local e = redis.call('ZSCORE', base .. ':exp', key)
  if e and tonumber(e) <= now then drop(key) end
end
local function purge(now)
  local gone = redis.call('ZRANGEBYSCORE', base .. ':exp', '-inf', now, 'LIMIT', 0, 100)
  for _, k in ipairs(gone) do drop(k) end
end
-- The namespace's idle expiry. Every key of a namespace expires at the same instant (so an
-- expired namespace is gone whole, never half). A full refresh (a PEXPIRE per key, the field sets
-- found through the sums' hash) only when :data has no expiry (it was just created) or its expiry
-- has run down by more than a minute: most writes pay one PTTL. Keys a write may have created
-- (:exp, :kf, :sum, a field's set) get :data's expiry at once (PEXPIRE NX, Redis >= 7.0).
-- A finished job's namespace (:fin, set by the sweep, which shortened every key) is never
-- lengthened: its expiry is what :fin has left.
local function touch(ttl, fields, hasTtl)
  local left = redis.call('PTTL', base .. ':data')
  local full = left < 0 or ttl - left >= 60000
  if full then
    local fin = redis.call('PTTL', base .. ':fin')
    if fin > 0 and fin < ttl then
      ttl = fin
      full = left < 0
    end
  end
  if full then
    for _, s in ipairs({':data', ':ver', ':idx', ':exp', ':kf', ':sum'}) do redis.call('PEXPIRE', base .. s, ttl) end
    for _, f in ipairs(redis.call('HKEYS', base .. ':sum')) do redis.call('PEXPIRE', base .. ':f:' .. f, ttl) end
    return
  end
  if hasTtl then redis.call('PEXPIRE', base .. ':exp', left, 'NX') end
  if #fields > 0 then
    redis.call('PEXPIRE', base .. ':kf', left, 'NX')
    redis.call('PEXPIRE', base .. ':sum', left, 'NX')
    for i = 1, #fields, 2 do redis.call('PEXPIRE', base .. ':f:' .. fields[i], left, 'NX') end
  end
end
-- A rewrite's numbers against the ones the key had: an unchanged number costs nothing (taking it
-- back and adding it again made the sum drift by a rounding each time), a changed one its
-- difference, a gone one its removal; a field no key has any more has its sum deleted (exactly 0).
local function reagg(key, fields)
  local new = {}
  for i = 1, #fields, 2 do new[fields[i]] = fields[i + 1] end
  local fl = redis.call('HGET', base .. ':kf', key)
  local kept = {}
  if fl then
    for f in string.gmatch(fl, '%S+') do
      local old = redis.call('ZSCORE', base .. ':f:' .. f, key)
      if old and new[f] and tonumber(old) == tonumber(new[f]) then
        kept[f] = true
      elseif old then
        redis.call('ZREM', base .. ':f:' .. f, key)
        if redis.call('ZCARD', base .. ':f:' .. f) == 0 then
          redis.call('HDEL', base .. ':sum', f)
        else
          redis.call('HINCRBYFLOAT', base .. ':sum', f, string.format('%.17g', -tonumber(old)))
        end
      end
    end
    redis.call('HDEL', base .. ':kf', key)
  end
  return kept
end
-- cur: the key's version now (the caller read it already). A key at version 0 is in none of the
-- namespace's structures (drop removes it from all), so there is nothing to take back.
local function write(key, value, now, ttl, fields, nsTtl, cur)
  local kept = {}
  if cur > 0 then kept = reagg(key, fields) end
  local v = cur + 1
  redis.call('HSET', base .. ':data', key, value)
  redis.call('HSET', base .. ':ver', key, v)
  redis.call('ZADD', base .. ':idx', 0, key)
  if ttl > 0 then redis.call('ZADD', base .. ':exp', now + ttl, key)
  elseif cur > 0 then redis.call('ZREM', base .. ':exp', key) end
  local names = {}
  for i = 1, #fields, 2 do
    local f, n = fields[i], fields[i + 1]
    if not kept[f] then
      redis.call('ZADD', base .. ':f:' .. f, n, key)
      redis.call('HINCRBYFLOAT', base .. ':sum', f, n)
    end
    names[#names + 1] = f
  end
  if #names > 0 then redis.call('HSET', base .. ':kf', key, table.concat(names, ' ')) end
  touch(nsTtl, fields, ttl > 0)
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
live(key, now)
local cur = tonumber(redis.call('HGET', base .. ':ver', key) or '0')
if ifv >= 0 and cur ~= ifv then return {-1, cur} end
local fields = {}
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
return {write(key, ARGV[2], now, ttl, fields, tonumber(ARGV[6]), cur)}
`);

/**
 * Incr. ARGV: key, by, now ms, ttl ms (0: keep none), namespace ttl ms. The value must be a
 * number (absent: 0). Returns {version, new value as text} or {-1, 'not_a_number'}.
 */
export const INCR = /* @__PURE__ */ new RedisScript(`${common}
local key, by, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
purge(now)
live(key, now)
local raw = redis.call('HGET', base .. ':data', key)
local cur = 0
if raw then
  cur = tonumber(raw)
  if not cur then return {-1, 'not_a_number'} end
end
local ver = tonumber(redis.call('HGET', base .. ':ver', key) or '0')
local n = cur + by
local text = string.format('%.17g', n)
if n == math.floor(n) and math.abs(n) < 1e15 then text = string.format('%d', n) end
if ttl == 0 then
  local e = redis.call('ZSCORE', base .. ':exp', key)
  if e then ttl = tonumber(e) - now end
end
return {write(key, text, now, ttl, {'value', text}, tonumber(ARGV[5]), ver), text}
`);

/** Get. ARGV: key, now ms. Returns {value, version, expiry ms or ''} or nil. */
export const GET = /* @__PURE__ */ new RedisScript(`${common}
local key, now = ARGV[1], tonumber(ARGV[2])
local e = redis.call('ZSCORE', base .. ':exp', key)
if e and tonumber(e) <= now then drop(key) return nil end
local v = redis.call('HGET', base .. ':data', key)
if not v then return nil end
return {v, redis.call('HGET', base .. ':ver', key), e or ''}
`);

/** Delete. ARGV: key, now ms, if_version (-1: any). Returns 1 deleted, 0 absent, {-1, current} on a mismatch. */
export const DELETE = /* @__PURE__ */ new RedisScript(`${common}
local key, now, ifv = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
purge(now)
live(key, now)
local cur = tonumber(redis.call('HGET', base .. ':ver', key) or '0')
if cur == 0 then return 0 end
if ifv >= 0 and cur ~= ifv then return {-1, cur} end
drop(key)
return 1
`);

/**
 * List in key order after a cursor. ARGV: now ms, after (exclusive; '' from the start), limit.
 * Returns a flat array key, value, version, expiry per entry.
 */
export const LIST = /* @__PURE__ */ new RedisScript(`${common}
local now, after, limit = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
purge(now)
local from = '-'
if after ~= '' then from = '(' .. after end
local out = {}
-- Keys past their expiry but beyond the purge's 100 are dropped here, not listed; the page is
-- filled from the keys after them, so a short page still means the end.
while #out < limit * 4 do
  local keys = redis.call('ZRANGEBYLEX', base .. ':idx', from, '+', 'LIMIT', 0, limit - #out / 4)
  if #keys == 0 then break end
  for _, k in ipairs(keys) do
    local e = redis.call('ZSCORE', base .. ':exp', k)
    if e and tonumber(e) <= now then drop(k)
    else
      out[#out + 1] = k
      out[#out + 1] = redis.call('HGET', base .. ':data', k) or 'null'
      out[#out + 1] = redis.call('HGET', base .. ':ver', k) or '0'
      out[#out + 1] = e or ''
    end
  end
  from = '(' .. keys[#keys]
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
for _, s in ipairs({':data', ':ver', ':idx', ':exp', ':kf', ':sum'}) do shorten(base .. s) end
return 1
`);
