/**
 * What kv_store declares: its argument and result schemas and its spec (registry.ts reads this;
 * validation, pricing and descriptions need nothing else). Its `run` is kv-store.ts, loaded only
 * when the skill is called (runnable.ts).
 */
import * as z from "zod/mini";
import { defineSpec } from "./types.ts";

const Key = z.string().check(
  z.minLength(1),
  z.maxLength(512),
  z.refine((k) => !/\p{Cc}/u.test(k), "no control characters"),
);
const TtlS = z.int().check(z.minimum(1), z.describe("seconds until the key expires (at most SKILL_KV_MAX_TTL_S)"));

export const KvStoreArgs = z.discriminatedUnion("op", [
  z.strictObject({ op: z.literal("get"), key: Key }),
  z.strictObject({ op: z.literal("set"), key: Key, value: z.unknown(), ttl_s: z.optional(TtlS) }),
  z.strictObject({ op: z.literal("delete"), key: Key }),
  z.strictObject({
    op: z.literal("incr"),
    key: Key,
    /** The increment (default 1; negative decrements). */
    value: z.optional(z.int()),
    ttl_s: z.optional(TtlS),
  }),
  z.strictObject({ op: z.literal("exists"), key: Key }),
  z.strictObject({ op: z.literal("mget"), keys: z.array(Key).check(z.minLength(1), z.maxLength(100)) }),
]);
export type KvStoreArgs = z.output<typeof KvStoreArgs>;

export const KvStoreResult = z.object({
  op: z.enum(["get", "set", "delete", "incr", "exists", "mget"]),
  /** get: the value, or null when the key is absent; incr: the new value. */
  value: z.optional(z.unknown()),
  /** get: whether the key exists (a stored null is found). */
  found: z.optional(z.boolean()),
  /** exists */
  exists: z.optional(z.boolean()),
  /** delete: 1 when the key existed, else 0. */
  deleted: z.optional(z.int()),
  /** mget: one value per key, null where absent, in the order asked. */
  values: z.optional(z.array(z.unknown())),
});
export type KvStoreResult = z.output<typeof KvStoreResult>;

/** What kvStore declares (spawn and simulation read only this). */
export const kvStoreSpec = defineSpec({
  name: "kv_store",
  version: "1.0.0",
  description: "Get, set (with TTL), delete, incr, exists and mget on a key-value store private to the tenant",
  input: KvStoreArgs,
  output: KvStoreResult,
  deterministic: false,
  sideEffects: true,
  cost: { base: 1, units: () => 0 },
});
