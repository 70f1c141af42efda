/**
 * AOS's Redis client: the typed commands (keys prefixed), scripts and pipelines, over one
 * bounded connection (redis-connection.ts: a deadline on every command, a backoff after a
 * failure, recovery by itself).
 *
 * Keys given to the typed methods get the client's `keyPrefix` (the stage's `aos:<stage>:`);
 * `call` sends its arguments as they are. Scripts (`RedisScript`) go as EVAL on a connection's
 * first use and EVALSHA afterwards, as ioredis' `defineCommand` did.
 *
 * Why not ioredis (decision 0004): it and its command table are about 180 KB of every Lambda
 * bundle, most of it cluster and sentinel support AOS does not use; this client, its connection
 * and the codec are under 10 KB.
 */
import { type Queued, type RedisClientOptions, RedisConnection, type RedisScript } from "./redis-connection.ts";
import { type Arg, RedisReplyError, type Reply } from "./redis-resp.ts";

export {
  type RedisClientOptions,
  RedisScript,
  RedisUnavailableError,
  type RedisUnavailableReason,
} from "./redis-connection.ts";
export { RedisReplyError } from "./redis-resp.ts";

/** A stream entry as XREAD answers it. */
export interface StreamEntry {
  id: string;
  fields: Record<string, string>;
}

const hash = (reply: Reply): Record<string, string> => {
  const out: Record<string, string> = {};
  const flat = (reply ?? []) as string[];
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
};

export class RedisClient extends RedisConnection {
  private readonly prefix: string;

  constructor(url: string, opts: RedisClientOptions) {
    super(url, opts);
    this.prefix = opts.keyPrefix ?? "";
  }

  /** The key as stored: with the client's prefix. */
  key(k: string): string {
    return this.prefix + k;
  }

  // ---- typed commands (keys prefixed) ----

  get(key: string): Promise<string | null> {
    return this.call(["GET", this.key(key)]) as Promise<string | null>;
  }
  /** `SET key value [EX s | PX ms] [NX | XX]`: "OK", or null when NX/XX prevented it. */
  set(key: string, value: string, ...options: (string | number)[]): Promise<"OK" | null> {
    return this.call(["SET", this.key(key), value, ...options]) as Promise<"OK" | null>;
  }
  del(...keys: string[]): Promise<number> {
    return this.call(["DEL", ...keys.map((k) => this.key(k))]) as Promise<number>;
  }
  exists(...keys: string[]): Promise<number> {
    return this.call(["EXISTS", ...keys.map((k) => this.key(k))]) as Promise<number>;
  }
  mget(...keys: string[]): Promise<(string | null)[]> {
    return this.call(["MGET", ...keys.map((k) => this.key(k))]) as Promise<(string | null)[]>;
  }
  ttl(key: string): Promise<number> {
    return this.call(["TTL", this.key(key)]) as Promise<number>;
  }
  pttl(key: string): Promise<number> {
    return this.call(["PTTL", this.key(key)]) as Promise<number>;
  }
  hset(key: string, field: string, value: string): Promise<number> {
    return this.call(["HSET", this.key(key), field, value]) as Promise<number>;
  }
  async hgetall(key: string): Promise<Record<string, string>> {
    return hash(await this.call(["HGETALL", this.key(key)]));
  }
  /**
   * `XADD key MAXLEN maxLen * field value` then `EXPIRE key ttlS`, in one write: a wake-up
   * signal on a short stream that disappears when nobody signals for `ttlS`. The entry's id.
   */
  async xaddCapped(key: string, maxLen: number, ttlS: number, fields: Record<string, string>): Promise<string> {
    const k = this.key(key);
    const [id, expired] = await this.send([
      { args: ["XADD", k, "MAXLEN", maxLen, "*", ...Object.entries(fields).flat()] },
      { args: ["EXPIRE", k, ttlS] },
    ]);
    if (id instanceof RedisReplyError) throw id;
    if (expired instanceof RedisReplyError) throw expired;
    return id as string;
  }
  /** The id of a stream's newest entry, `0-0` when it has none (or does not exist). */
  async xlastId(key: string): Promise<string> {
    const reply = (await this.call(["XREVRANGE", this.key(key), "+", "-", "COUNT", 1])) as [string, unknown][] | null;
    return reply?.[0]?.[0] ?? "0-0";
  }
  /**
   * `XREAD BLOCK blockMs STREAMS key afterId`: the entries after `afterId` (at most 100, oldest
   * first), or none when none came within `blockMs`. It holds this connection for the whole wait:
   * call it only on a connection of its own (never the process's shared client).
   */
  async xreadBlock(key: string, afterId: string, blockMs: number): Promise<StreamEntry[]> {
    const [reply] = await this.send(
      [{ args: ["XREAD", "COUNT", 100, "BLOCK", blockMs, "STREAMS", this.key(key), afterId] }],
      blockMs + this.opts.commandTimeoutMs,
    );
    if (reply instanceof RedisReplyError) throw reply;
    const streams = reply as [string, [string, Reply][]][] | null;
    return (streams?.[0]?.[1] ?? []).map(([id, fields]) => ({ id, fields: hash(fields) }));
  }
  /** `XADD key MAXLEN ~ maxLen * field value...`: one command (no EXPIRE); the entry's id. */
  async xadd(key: string, maxLen: number, fields: Record<string, string>): Promise<string> {
    return (await this.call([
      "XADD",
      this.key(key),
      "MAXLEN",
      "~",
      maxLen,
      "*",
      ...Object.entries(fields).flat(),
    ])) as string;
  }
  /** `XRANGE key - + COUNT count`: a stream's oldest entries (a queue's head). */
  async xrange(key: string, count: number): Promise<StreamEntry[]> {
    const reply = (await this.call(["XRANGE", this.key(key), "-", "+", "COUNT", count])) as [string, Reply][] | null;
    return (reply ?? []).map(([id, fields]) => ({ id, fields: hash(fields) }));
  }
  /** `XDEL key id...`: how many entries were removed. */
  async xdel(key: string, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return (await this.call(["XDEL", this.key(key), ...ids])) as number;
  }
  /** `XLEN key`. */
  async xlen(key: string): Promise<number> {
    return (await this.call(["XLEN", this.key(key)])) as number;
  }
  ping(): Promise<string> {
    return this.call(["PING"]) as Promise<string>;
  }
  /** Run a script with its keys (prefixed) and arguments. */
  async eval(script: RedisScript, keys: readonly string[], args: readonly Arg[] = []): Promise<Reply> {
    try {
      const [reply] = await this.send([this.scriptCommand(script, keys, args)]);
      if (reply instanceof RedisReplyError) throw reply;
      return reply as Reply;
    } catch (err) {
      if (!(err instanceof RedisReplyError) || err.prefix !== "NOSCRIPT") throw err;
      // The server lost its script cache (SCRIPT FLUSH, a restart behind a proxy): send the body.
      this.scriptsLoaded.delete(script.sha);
      return this.call(["EVAL", script.lua, keys.length, ...keys.map((k) => this.key(k)), ...args]);
    }
  }

  /** Commands sent together in one write; `exec` answers `[error, value]` per command, in order. */
  pipeline(): RedisPipeline {
    return new RedisPipeline(this);
  }

  /** @internal A script call: `numkeys`, the keys (prefixed) and the arguments; send() puts EVAL or EVALSHA in front. */
  scriptCommand(script: RedisScript, keys: readonly string[], args: readonly Arg[]): Queued {
    return { args: [keys.length, ...keys.map((k) => this.key(k)), ...args], script };
  }
}

export class RedisPipeline {
  private readonly queued: Queued[] = [];
  constructor(private readonly client: RedisClient) {}

  call(args: readonly Arg[]): this {
    this.queued.push({ args: [...args] });
    return this;
  }
  hgetall(key: string): this {
    this.queued.push({ args: ["HGETALL", this.client.key(key)], map: hash });
    return this;
  }
  eval(script: RedisScript, keys: readonly string[], args: readonly Arg[] = []): this {
    this.queued.push(this.client.scriptCommand(script, keys, args));
    return this;
  }
  get length(): number {
    return this.queued.length;
  }

  /**
   * Send every command in one write. Per command: `[null, value]` or `[RedisReplyError, undefined]`.
   * Rejects (RedisUnavailableError) only when the pipeline as a whole got no answer. `timeoutMs`
   * overrides the client's deadline for a pipeline known to be long (GET /metrics' read).
   */
  async exec(timeoutMs?: number): Promise<[Error | null, unknown][]> {
    if (this.queued.length === 0) return [];
    const replies = await this.client.send(this.queued, timeoutMs);
    return replies.map((reply, i) => {
      if (reply instanceof RedisReplyError) return [reply, undefined];
      const map = this.queued[i]?.map;
      return [null, map ? map(reply) : reply];
    });
  }
}
