/**
 * `COPY ... TO STDOUT` as a stream, for exports of any size with flat memory: the bytes flow from
 * the Postgres socket to the consumer with backpressure (a consumer that stops reading pauses
 * the socket), never a result set in memory.
 *
 * The COPY runs on a dedicated pool connection in a `repeatable read read only` transaction (one
 * snapshot from the first row to the last) with no statement timeout. COPY takes no bind
 * parameters, so values never go into the SQL text: `settingPlaceholder` turns each into a
 * transaction-local setting (`set_config(name, value, true)`) that the statement reads back with
 * `CAST(current_setting(name) AS type)`.
 *
 * @example
 *   const settings: CopySetting[] = [];
 *   const p = settingPlaceholder(settings, "aos.export_");
 *   const text = `copy (select id from status_history where tenant_id = ${p(tenantId, "uuid")}) to stdout`;
 *   const { rowCount } = await copyOut(await pool(), { text, settings }, (rows) => pipeline(rows, out));
 */
import type { Readable } from "node:stream";
import type pg from "pg";
import { CopyOutStream } from "./copy-out-stream.ts";
import { coerceError } from "./errors.ts";
import type { Pool } from "./pool.ts";

/** A transaction-local setting: `[name, value]`, the name with a dot (`aos.export_1`). */
export type CopySetting = readonly [name: string, value: string];

export interface CopyOutSpec {
  /** `COPY (select ...) TO STDOUT WITH (...)`; values only through `current_setting`. */
  text: string;
  settings?: readonly CopySetting[];
}

const SETTING_PREFIX = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;
const SQL_TYPE = /^[a-z][a-z0-9 ]*(\[\])?$/;

/**
 * A placeholder function for COPY statements: pushes `[<prefix><n>, value]` onto `settings` and
 * returns `CAST(current_setting('<prefix><n>') AS <type>)`. Dates travel as ISO 8601, numbers as text.
 * Only the generated name and the type (both from code, both checked) enter the SQL text.
 */
export function settingPlaceholder(
  settings: CopySetting[],
  prefix = "aos.copy_",
): (value: string | number | Date, type: string) => string {
  return (value, type) => {
    const name = `${prefix}${settings.length + 1}`;
    if (!SETTING_PREFIX.test(name)) throw new Error(`invalid setting name ${name}`);
    if (!SQL_TYPE.test(type)) throw new Error(`invalid SQL type ${type}`);
    settings.push([name, value instanceof Date ? value.toISOString() : String(value)]);
    return `CAST(current_setting('${name}') AS ${type})`;
  };
}

export interface CopyOutResult<T> {
  /** What `consume` returned. */
  result: T;
  /** Rows the COPY sent, from its command tag (known once the statement completed). */
  rowCount: number;
}

/**
 * Run `spec.text` and hand its output stream to `consume`, which must read it to the end (pipe
 * it somewhere and await the pipeline). When `consume` resolves the transaction commits and the
 * connection goes back to the pool; on any error (the COPY, the settings, the consumer) the
 * transaction is abandoned and the connection destroyed, since a COPY cut short leaves the
 * protocol mid-stream. Errors leave as AppErrors (driver errors through `coerceError`); a
 * connection killed during the COPY is a 503 `db.unavailable` / `db.shutdown` (retryable) and
 * never an unhandled 'error' event.
 */
export async function copyOut<T>(
  pool: Pool,
  spec: CopyOutSpec,
  consume: (rows: Readable) => Promise<T>,
): Promise<CopyOutResult<T>> {
  const client = await pool.connect().catch((e: unknown) => {
    throw coerceError(e);
  });
  let stream: Readable | undefined;
  try {
    await client.query("begin isolation level repeatable read read only");
    await client.query("set local statement_timeout = 0");
    const settings = spec.settings ?? [];
    if (settings.length > 0) {
      await client.query(
        "select set_config(s.name, s.value, true) from unnest(CAST($1 AS text[]), CAST($2 AS text[])) as s(name, value)",
        [settings.map((s) => s[0]), settings.map((s) => s[1])],
      );
    }
    const copy = new CopyOutStream(spec.text);
    // Sent on the driver's client itself: a submittable is not bounded by the query timeout
    // (an export may run for minutes), while the statements around it are.
    (client.driverClient as pg.PoolClient).query(copy as unknown as pg.Submittable);
    stream = copy;
    // The connection may still report an error after the consumer gave up (when it is closed
    // below); that must not become an unhandled 'error' event.
    copy.on("error", () => {});
    const result = await consume(copy);
    if (!copy.readableEnded) throw new Error("the COPY consumer returned before reading the stream to its end");
    // COMMIT is queued behind the COPY, so once it returns the command tag (rowCount) is in.
    await client.query("commit");
    client.release();
    return { result, rowCount: copy.rowCount };
  } catch (e) {
    stream?.destroy();
    client.release(true);
    throw coerceError(e);
  }
}
