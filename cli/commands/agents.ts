/**
 * `aos agents|messages|invoke|blackboard`: the agents routes by hand, against a running AOS
 * (AOS_URL, AOS_KEY). `--as <instance id>` sends X-AOS-Agent-Id (the instance the key acts as).
 */
import { UsageError } from "../failures.ts";
import type { CommandSpec } from "../main.ts";
import { callApi, qs } from "./api.ts";

type Values = Record<string, string | boolean | undefined>;
const str = (v: Values, name: string) => (typeof v[name] === "string" ? (v[name] as string) : undefined);
const as = (v: Values): Record<string, string> => (str(v, "as") ? { "x-aos-agent-id": str(v, "as") as string } : {});
const asOption = { as: { type: "string" as const, description: "act as this agent instance (X-AOS-Agent-Id)" } };

function need(positionals: string[], n: number, what: string): string[] {
  if (positionals.length < n) throw new UsageError(`${what} required`);
  return positionals;
}

function json(text: string | undefined, name: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${name}: not JSON`);
  }
}

const body = (o: Record<string, unknown>) =>
  JSON.stringify(Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)));
const num = (v: Values, name: string) => (str(v, name) === undefined ? undefined : Number(str(v, name)));
const seg = encodeURIComponent;

export const commands: CommandSpec[] = [
  {
    name: "agents register",
    usage: "agents register <name> [--capabilities a,b] [--job <id>]",
    summary: "Register an agent instance of the key's tenant",
    options: {
      capabilities: { type: "string", description: "comma-separated capabilities" },
      job: { type: "string", description: "the job the instance works for" },
    },
    run: ({ positionals: [name], values: v }) => {
      if (!name) throw new UsageError("a name is required");
      const capabilities = str(v, "capabilities")?.split(",").filter(Boolean);
      return callApi("POST", "/api/v1/agents", body({ name, capabilities, job_id: str(v, "job") }));
    },
  },
  {
    name: "agents list",
    usage: "agents list",
    summary: "The tenant's agent instances",
    run: () => callApi("GET", "/api/v1/agents"),
  },
  {
    name: "agents get",
    usage: "agents get <id>",
    summary: "An agent instance (stale or not)",
    run: ({ positionals: p }) => callApi("GET", `/api/v1/agents/${seg(need(p, 1, "an id")[0] as string)}`),
  },
  {
    name: "agents heartbeat",
    usage: "agents heartbeat <id>",
    summary: "The instance is alive",
    run: ({ positionals: p }) => callApi("POST", `/api/v1/agents/${seg(need(p, 1, "an id")[0] as string)}/heartbeat`),
  },
  {
    name: "agents deregister",
    usage: "agents deregister <id>",
    summary: "Deregister an instance: its unacked messages become dead letters, 410 for it afterwards",
    run: ({ positionals: p }) => callApi("DELETE", `/api/v1/agents/${seg(need(p, 1, "an id")[0] as string)}`),
  },
  {
    name: "messages send",
    usage: "messages send <to> <type> [--payload JSON] [--message-id X] [--ttl S] [--as <id>]",
    summary: "Send a message to an agent instance",
    options: {
      payload: { type: "string", description: "JSON payload (default null)" },
      "message-id": { type: "string", description: "idempotency key of the sender" },
      ttl: { type: "string", description: "seconds the message lives" },
      ...asOption,
    },
    run: ({ positionals: p, values: v }) => {
      const [to, type] = need(p, 2, "a recipient and a type");
      const payload = json(str(v, "payload"), "--payload") ?? null;
      return callApi(
        "POST",
        "/api/v1/messages",
        body({ to, type, payload, message_id: str(v, "message-id"), ttl_s: num(v, "ttl") }),
        as(v),
      );
    },
  },
  {
    name: "messages receive",
    usage: "messages receive <agent id> [--wait S] [--after SEQ] [--limit N]",
    summary: "Long-poll an instance's inbox (what it returns is leased: ack it)",
    options: {
      wait: { type: "string", description: "seconds to wait for a message (<= 20)" },
      after: { type: "string", description: "only messages after this seq" },
      limit: { type: "string", description: "at most this many" },
    },
    run: ({ positionals: p, values: v }) =>
      callApi(
        "GET",
        `/api/v1/agents/${seg(need(p, 1, "an agent id")[0] as string)}/messages${qs({ wait_s: str(v, "wait"), after_seq: str(v, "after"), limit: str(v, "limit") })}`,
      ),
  },
  {
    name: "messages ack",
    usage: "messages ack <message id>",
    summary: "Ack a received message",
    run: ({ positionals: p }) =>
      callApi("POST", `/api/v1/messages/${seg(need(p, 1, "a message id")[0] as string)}/ack`),
  },
  {
    name: "messages dead",
    usage: "messages dead [--to <agent id>]",
    summary: "Dead letters of the tenant",
    options: { to: { type: "string", description: "of this recipient only" } },
    run: ({ values: v }) => callApi("GET", `/api/v1/messages/dead${qs({ to: str(v, "to") })}`),
  },
  {
    name: "messages replay",
    usage: "messages replay <message id>",
    summary: "Put a dead letter back in its recipient's inbox",
    run: ({ positionals: p }) =>
      callApi("POST", `/api/v1/messages/${seg(need(p, 1, "a message id")[0] as string)}/replay`),
  },
  {
    name: "invoke",
    usage: "invoke <target id> [--input JSON] [--timeout S] [--credits N] [--job <id>] [--as <id>]",
    summary: "Invoke an agent instance and wait for its answer (504 at the deadline)",
    options: {
      input: { type: "string", description: "JSON input (default null)" },
      timeout: { type: "string", description: "seconds to wait (<= 30)" },
      credits: { type: "string", description: "credits held, charged on completion" },
      job: { type: "string", description: "the job the invoke belongs to" },
      ...asOption,
    },
    run: ({ positionals: p, values: v }) => {
      const [target] = need(p, 1, "a target id");
      const payload = {
        input: json(str(v, "input"), "--input") ?? null,
        timeout_s: num(v, "timeout"),
        credits: num(v, "credits"),
        job_id: str(v, "job"),
      };
      return callApi("POST", `/api/v1/agents/${seg(target as string)}/invoke`, body(payload), as(v));
    },
  },
  {
    name: "invoke respond",
    usage: "invoke respond <invoke id> (--output JSON | --error TEXT) [--as <id>]",
    summary: "Answer an invoke as its target",
    options: {
      output: { type: "string", description: "JSON output" },
      error: { type: "string", description: "the error, instead of an output" },
      ...asOption,
    },
    run: ({ positionals: p, values: v }) => {
      const [id] = need(p, 1, "an invoke id");
      const answer = { output: json(str(v, "output"), "--output"), error: str(v, "error") };
      return callApi("POST", `/api/v1/invokes/${seg(id as string)}/respond`, body(answer), as(v));
    },
  },
  {
    name: "invoke cancel",
    usage: "invoke cancel <invoke id> [--as <id>]",
    summary: "Cancel an invoke as its caller (credits released; a later answer is kept)",
    options: { ...asOption },
    run: ({ positionals: p, values: v }) =>
      callApi("POST", `/api/v1/invokes/${seg(need(p, 1, "an invoke id")[0] as string)}/cancel`, "{}", as(v)),
  },
  {
    name: "invoke get",
    usage: "invoke get <invoke id>",
    summary: "What happened to an invoke: audit row, messages, timings",
    run: ({ positionals: p }) => callApi("GET", `/api/v1/invokes/${seg(need(p, 1, "an invoke id")[0] as string)}`),
  },
  {
    name: "invoke list",
    usage: "invoke list [--job <id>] [--caller <id>]",
    summary: "The tenant's invokes by job and caller",
    options: {
      job: { type: "string", description: "of this job" },
      caller: { type: "string", description: "by this caller" },
    },
    run: ({ values: v }) => callApi("GET", `/api/v1/invokes${qs({ job_id: str(v, "job"), caller: str(v, "caller") })}`),
  },
  {
    name: "blackboard put",
    usage: "blackboard put <ns> <key> <JSON value> [--if-version N] [--ttl S]",
    summary: "Write a blackboard entry (compare-and-set with --if-version)",
    options: {
      "if-version": { type: "string", description: "write only at this version (0: only if absent)" },
      ttl: { type: "string", description: "seconds the entry lives" },
    },
    run: ({ positionals: p, values: v }) => {
      const [ns, key, value] = need(p, 3, "a namespace, a key and a JSON value");
      const b = body({ value: json(value, "value"), if_version: num(v, "if-version"), ttl_s: num(v, "ttl") });
      return callApi("PUT", `/api/v1/blackboard/${seg(ns as string)}/${seg(key as string)}`, b);
    },
  },
  {
    name: "blackboard get",
    usage: "blackboard get <ns> <key>",
    summary: "A blackboard entry",
    run: ({ positionals: p }) => {
      const [ns, key] = need(p, 2, "a namespace and a key");
      return callApi("GET", `/api/v1/blackboard/${seg(ns as string)}/${seg(key as string)}`);
    },
  },
  {
    name: "blackboard delete",
    usage: "blackboard delete <ns> <key> [--if-version N]",
    summary: "Delete a blackboard entry",
    options: { "if-version": { type: "string", description: "delete only at this version" } },
    run: ({ positionals: p, values: v }) => {
      const [ns, key] = need(p, 2, "a namespace and a key");
      return callApi(
        "DELETE",
        `/api/v1/blackboard/${seg(ns as string)}/${seg(key as string)}${qs({ if_version: str(v, "if-version") })}`,
      );
    },
  },
  {
    name: "blackboard incr",
    usage: "blackboard incr <ns> <key> [--by N]",
    summary: "Add to a numeric blackboard entry",
    options: { by: { type: "string", description: "amount (default 1)" } },
    run: ({ positionals: p, values: v }) => {
      const [ns, key] = need(p, 2, "a namespace and a key");
      return callApi(
        "POST",
        `/api/v1/blackboard/${seg(ns as string)}/${seg(key as string)}/incr`,
        body({ by: num(v, "by") }),
      );
    },
  },
  {
    name: "blackboard list",
    usage: "blackboard list <ns> [--cursor KEY]",
    summary: "A namespace's entries in key order",
    options: { cursor: { type: "string", description: "the last key of the previous page" } },
    run: ({ positionals: p, values: v }) =>
      callApi(
        "GET",
        `/api/v1/blackboard/${seg(need(p, 1, "a namespace")[0] as string)}${qs({ cursor: str(v, "cursor") })}`,
      ),
  },
  {
    name: "blackboard aggregate",
    usage: "blackboard aggregate <ns> [--field F] [--top N]",
    summary: "count, sum, min, max, avg and top N of a numeric field",
    options: {
      field: { type: "string", description: "numeric field (default value)" },
      top: { type: "string", description: "top N" },
    },
    run: ({ positionals: p, values: v }) =>
      callApi(
        "GET",
        `/api/v1/blackboard-aggregates/${seg(need(p, 1, "a namespace")[0] as string)}${qs({ field: str(v, "field"), top: str(v, "top") })}`,
      ),
  },
];
