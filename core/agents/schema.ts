/** The agents domain's wire shapes (zod/mini): instances, messages, invokes. */
import * as z from "zod/mini";
import { PageQuery } from "../platform/pagination.ts";
import { InvokeStates } from "./states.ts";

const Name = z.string().check(z.minLength(1), z.maxLength(200));
const Capability = z.string().check(z.minLength(1), z.maxLength(100));
/** Credits, as the credits domain writes them (at most 4 decimals); declared here so reading agents never loads credits. */
const Amount = z.number().check(
  z.positive(),
  z.maximum(1e12),
  z.refine((n) => Math.round(n * 10_000) === n * 10_000, "at most 4 decimals"),
);
/** A numeric query parameter (query strings are text). */
const queryInt = (min: number, max: number) => z.coerce.number().check(z.int(), z.minimum(min), z.maximum(max));

/** The body of a POST that takes none: absent or `{}`. */
export const NoBody = z._default(z.strictObject({}), {});

export const AgentPath = z.strictObject({ id: z.uuid() });
export type AgentPath = z.output<typeof AgentPath>;

export const AgentRegister = z.strictObject({
  name: Name,
  capabilities: z._default(z.array(Capability).check(z.maxLength(100)), []),
  job_id: z.optional(z.uuid()),
});
export type AgentRegister = z.output<typeof AgentRegister>;

export const AgentRecord = z.object({
  id: z.uuid(),
  tenant_id: z.uuid(),
  name: z.string(),
  capabilities: z.array(z.string()),
  job_id: z.nullable(z.uuid()),
  created_by: z.string(),
  last_seen_at: z.string(),
  created_at: z.string(),
  /** Not seen (heartbeat or receive) for AGENT_STALE_S. */
  stale: z.boolean(),
  /** `deregistered` after DELETE: it sends, receives, heartbeats and is invoked no more (410). */
  status: z.enum(["active", "deregistered"]),
  deregistered_at: z.nullable(z.string()),
});
export type AgentRecord = z.infer<typeof AgentRecord>;

export const AgentListQuery = z.strictObject({ ...PageQuery.shape, job_id: z.optional(z.uuid()) });
export type AgentListQuery = z.output<typeof AgentListQuery>;

const MessageType = z.string().check(z.regex(/^[A-Za-z0-9_.:-]{1,100}$/, "1 to 100 letters, digits, _ . : -"));

export const MessageSend = z.strictObject({
  /** The recipient instance. */
  to: z.uuid(),
  type: MessageType,
  payload: z.unknown(),
  /** The message this one answers. */
  reply_to: z.optional(z.uuid()),
  /** The sender's idempotency key: sending it twice stores one message. */
  message_id: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
  ttl_s: z.optional(z.int().check(z.minimum(1), z.maximum(7 * 86_400))),
});
export type MessageSend = z.output<typeof MessageSend>;

export const MessagePath = z.strictObject({ id: z.uuid() });

export const MessageRecord = z.object({
  id: z.uuid(),
  /** Per recipient, increasing in commit order (gaps possible): resume with `after_seq`, de-duplicate by it. */
  seq: z.int(),
  to: z.uuid(),
  from: z.string(),
  message_id: z.nullable(z.string()),
  type: z.string(),
  payload: z.unknown(),
  reply_to: z.nullable(z.uuid()),
  invoke_id: z.nullable(z.string()),
  deliveries: z.int(),
  leased_until: z.nullable(z.string()),
  expires_at: z.string(),
  acked_at: z.nullable(z.string()),
  dead_at: z.nullable(z.string()),
  created_at: z.string(),
});
export type MessageRecord = z.infer<typeof MessageRecord>;

/** 201 for a new message, 200 (with `duplicate`) when the sender's message_id was used already. */
export const MessageSent = z.object({ ...MessageRecord.shape, duplicate: z.boolean() });
export type MessageSent = z.infer<typeof MessageSent>;

export const ReceiveQuery = z.strictObject({
  /** Long-poll: wait up to this many seconds for a message (0: answer at once). */
  wait_s: z._default(queryInt(0, 20), 0),
  /** Only messages with a greater seq (a resume cursor). */
  after_seq: z._default(queryInt(0, Number.MAX_SAFE_INTEGER), 0),
  limit: z._default(queryInt(1, 100), 10),
});
export type ReceiveQuery = z.output<typeof ReceiveQuery>;

export const MessageBatch = z.object({ data: z.array(MessageRecord), last_seq: z.int() });
export type MessageBatch = z.infer<typeof MessageBatch>;

export const DeadQuery = z.strictObject({ ...PageQuery.shape, to: z.optional(z.uuid()) });
export type DeadQuery = z.output<typeof DeadQuery>;

export const InvokeStatus = z.enum([
  InvokeStates.submitted,
  InvokeStates.working,
  InvokeStates.completed,
  InvokeStates.failed,
  InvokeStates.canceled,
  InvokeStates.timeout,
  InvokeStates.late,
]);

export const InvokeBody = z.strictObject({
  input: z.unknown(),
  timeout_s: z._default(z.int().check(z.minimum(1), z.maximum(30)), 30),
  job_id: z.optional(z.uuid()),
  /** Held at the start, charged when the target completes, released on failure or timeout. */
  credits: z.optional(Amount),
});
export type InvokeBody = z.output<typeof InvokeBody>;

export const InvokePath = z.strictObject({ invoke_id: z.uuid() });

export const InvokeRespond = z
  .strictObject({
    output: z.optional(z.unknown()),
    error: z.optional(z.string().check(z.minLength(1), z.maxLength(4000))),
  })
  .check(
    z.refine((b) => (b.output === undefined) !== (b.error === undefined), {
      message: "send exactly one of output and error",
      path: ["output"],
    }),
  );
export type InvokeRespond = z.output<typeof InvokeRespond>;

export const InvokeRecord = z.object({
  invoke_id: z.string(),
  caller_instance_id: z.string(),
  target_instance_id: z.string(),
  job_id: z.nullable(z.uuid()),
  status: InvokeStatus,
  request_payload: z.unknown(),
  response_payload: z.nullable(z.unknown()),
  error_message: z.nullable(z.string()),
  credits_reserved: z.nullable(z.number()),
  credits_charged: z.nullable(z.number()),
  timeout_s: z.int(),
  deadline_at: z.string(),
  started_at: z.string(),
  received_at: z.nullable(z.string()),
  completed_at: z.nullable(z.string()),
  duration_ms: z.nullable(z.int()),
  /** When the target's answer came; on a canceled invoke, an answer that came after the cancel (null: none). */
  answered_at: z.nullable(z.string()),
});
export type InvokeRecord = z.infer<typeof InvokeRecord>;

/** "What happened to invoke X?": its audit row, its request message(s) and timings. */
export const InvokeTrace = z.object({
  ...InvokeRecord.shape,
  messages: z.array(MessageRecord),
  timings: z.object({
    /** From start to the target's first receive of the request. */
    to_receive_ms: z.nullable(z.int()),
    /** From start to the answer. */
    to_answer_ms: z.nullable(z.int()),
  }),
});
export type InvokeTrace = z.infer<typeof InvokeTrace>;

export const InvokeListQuery = z.strictObject({
  ...PageQuery.shape,
  job_id: z.optional(z.uuid()),
  caller: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
});
export type InvokeListQuery = z.output<typeof InvokeListQuery>;

// ---- blackboard ----

/** `job:<id>` for a job's agents, free names otherwise. */
const Namespace = z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/, "1 to 100 of A-Z a-z 0-9 _ . : -"));
const BoardKey = z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/, "1 to 200 of A-Z a-z 0-9 _ . : -"));

export const BoardNsPath = z.strictObject({ ns: Namespace });
export type BoardNsPath = z.output<typeof BoardNsPath>;
export const BoardPath = z.strictObject({ ns: Namespace, key: BoardKey });
export type BoardPath = z.output<typeof BoardPath>;

export const BoardPut = z.strictObject({
  value: z.unknown(),
  /** Compare-and-set: write only when the entry is at this version (0: only when absent); 409 otherwise. */
  if_version: z.optional(z.int().check(z.minimum(0))),
  ttl_s: z.optional(z.int().check(z.minimum(1), z.maximum(30 * 86_400))),
});
export type BoardPut = z.output<typeof BoardPut>;

export const BoardDeleteQuery = z.strictObject({ if_version: z.optional(queryInt(0, Number.MAX_SAFE_INTEGER)) });
export type BoardDeleteQuery = z.output<typeof BoardDeleteQuery>;

export const BoardIncr = z.strictObject({
  by: z._default(z.number().check(z.minimum(-1e15), z.maximum(1e15)), 1),
  ttl_s: z.optional(z.int().check(z.minimum(1), z.maximum(30 * 86_400))),
});
export type BoardIncr = z.output<typeof BoardIncr>;

export const BoardEntry = z.object({
  ns: z.string(),
  key: z.string(),
  value: z.unknown(),
  version: z.int(),
  expires_at: z.nullable(z.string()),
});
export type BoardEntry = z.infer<typeof BoardEntry>;

export const BoardListQuery = z.strictObject({
  limit: z._default(queryInt(1, 1000), 100),
  /** The last key of the previous page. */
  cursor: z.optional(BoardKey),
});
export type BoardListQuery = z.output<typeof BoardListQuery>;

export const BoardPage = z.object({ data: z.array(BoardEntry), next_cursor: z.nullable(z.string()) });
export type BoardPage = z.infer<typeof BoardPage>;

export const AggregateQuery = z.strictObject({
  /** A top-level numeric field of the entries' values; `value` for entries that are bare numbers (incr). */
  field: z._default(z.string().check(z.regex(/^[A-Za-z0-9_]{1,64}$/, "1 to 64 of A-Z a-z 0-9 _")), "value"),
  top: z._default(queryInt(0, 100), 0),
});
export type AggregateQuery = z.output<typeof AggregateQuery>;

export const Aggregate = z.object({
  ns: z.string(),
  field: z.string(),
  /** Live entries of the namespace. */
  count: z.int(),
  /** Entries whose value has the field as a number. */
  field_count: z.int(),
  sum: z.number(),
  min: z.nullable(z.number()),
  max: z.nullable(z.number()),
  avg: z.nullable(z.number()),
  top: z.array(z.object({ key: z.string(), value: z.number() })),
});
export type Aggregate = z.infer<typeof Aggregate>;
