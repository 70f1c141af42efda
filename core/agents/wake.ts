/**
 * How a waiting receiver (a long-poll, an invoke's caller) is woken: a short Redis stream per
 * thing waited on (`agents:wake:<recipient>`, `agents:invoke:<id>`). The writer appends an entry
 * after its transaction commits (`signal`); the waiter notes the stream's newest id, checks
 * Postgres (the record), then blocks in `XREAD BLOCK` from that id, so an entry written between
 * its check and its block still wakes it. Each block is bounded (POLL_MS) and followed by a check
 * of Postgres, so a lost signal (Redis down, a crash before the signal) costs at most one slice.
 *
 * Why not LISTEN/NOTIFY: a LISTEN needs a session connection held for the whole wait; a pool
 * connection idle for 20 s per waiter exhausts the small pool, and a dedicated pg connection per
 * waiter counts against max_connections (100 by default, fewer on Neon's direct endpoint). A
 * blocked XREAD holds one Redis socket (Redis takes 10,000 clients), none of Postgres, and works
 * the same under Lambda (nothing held between invocations but idle sockets) and `npm start`.
 * Measured in bench/agents.ts (decision 0017).
 *
 * An entry may be `for` one waiter and carry what it waits for (a message a send handed to a
 * waiting receive, an invoke's answered row): that waiter returns it without asking Postgres.
 *
 * A blocking command holds its connection, so waits never use the process's shared client: each
 * borrows a connection of its own from a small free list here.
 */
import { config } from "../config.ts";
import { clock } from "../platform/clock.ts";
import { log } from "../platform/logger.ts";
import { redis } from "../platform/redis.ts";
import { RedisClient } from "../platform/redis-client.ts";

/** Longest single block; then Postgres is asked again (lease ends, lost signals). */
const POLL_MS = 2000;
/** Without Redis, how often Postgres is asked. */
const FALLBACK_POLL_MS = 250;
const MAX_IDLE = 16;
const STREAM_LEN = 16;
const STREAM_TTL_S = 3600;

const idle: RedisClient[] = [];

function borrow(): RedisClient {
  const popped = idle.pop();
  if (popped) return popped;
  const c = config();
  return new RedisClient(c.redisUrl, {
    keyPrefix: c.redisPrefix,
    commandTimeoutMs: c.redisCommandTimeoutMs,
    backoffMs: 0,
    name: "aos-wait",
  });
}

function giveBack(client: RedisClient, healthy: boolean): void {
  if (healthy && idle.length < MAX_IDLE) idle.push(client);
  else client.disconnect();
}

/** Close the idle wait connections (tests, shutdown). */
export function closeWaitConnections(): void {
  for (const c of idle.splice(0)) c.disconnect();
}

export const inboxKey = (agentId: string) => `agents:wake:${agentId}`;
export const invokeKey = (invokeId: string) => `agents:invoke:${invokeId}`;

/**
 * Wake whoever waits on `key`. An entry `for` one waiter (a token) carries what it is handed
 * (`fields`); the others ignore it. Never throws: a lost signal costs a waiter one poll slice.
 */
export async function signal(key: string, handoff?: { for: string; value: string }): Promise<void> {
  try {
    const at = String(clock().nowMs());
    await redis().xaddCapped(key, STREAM_LEN, STREAM_TTL_S, handoff ? { at, ...handoff } : { at });
  } catch (err) {
    log.warn("agents: wake-up signal not sent (waiters fall back to polling)", { err, key });
  }
}

async function lastId(key: string): Promise<string | undefined> {
  try {
    return await redis().xlastId(key);
  } catch {
    return undefined;
  }
}

/** What a waiter takes from an entry signalled for it (`token`), instead of asking Postgres. */
export interface Handoff<T> {
  token: string;
  take: (value: string) => T;
  /**
   * The stream's id from before what is waited for could have been signalled (read before the
   * write that starts it): the first check of Postgres is skipped.
   */
  from?: string;
}

/**
 * Call `check` until it finds something (returned) or `deadlineMs` (epoch ms) passes (undefined),
 * sleeping between checks until `key` is signalled. `check` runs at least once, and once at or
 * after the deadline, unless `handoff.from` is given (then the first is skipped). An entry
 * signalled for `handoff.token` is taken at once (no check); one for another waiter is ignored.
 */
export async function waitFor<T>(
  key: string,
  deadlineMs: number,
  check: () => Promise<T | undefined>,
  handoff?: Handoff<T>,
): Promise<T | undefined> {
  let last = handoff?.from ?? (await lastId(key));
  let news = handoff?.from === undefined;
  for (;;) {
    if (news || clock().nowMs() >= deadlineMs) {
      const found = await check();
      if (found !== undefined) return found;
    }
    news = true;
    const left = deadlineMs - clock().nowMs();
    if (left <= 0) return undefined;
    if (last === undefined) {
      await clock().sleep(Math.min(left, FALLBACK_POLL_MS));
      last = await lastId(key);
      continue;
    }
    const conn = borrow();
    try {
      const entries = await conn.xreadBlock(key, last, Math.max(1, Math.min(left, POLL_MS)));
      giveBack(conn, true);
      const mine = entries.find((e) => handoff && e.fields.for === handoff.token && e.fields.value !== undefined);
      if (mine && handoff) return handoff.take(mine.fields.value as string);
      last = entries.at(-1)?.id ?? last;
      // Only other waiters' hand-offs: nothing for this one to look for in Postgres.
      if (entries.length > 0 && entries.every((e) => e.fields.for !== undefined)) news = false;
    } catch (err) {
      giveBack(conn, false);
      log.warn("agents: wait on Redis failed (polling Postgres instead)", { err, key });
      last = undefined;
    }
  }
}
