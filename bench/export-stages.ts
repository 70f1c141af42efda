/**
 * The export's stages timed alone, in a bench child process (bench/export-child.ts `stage ...`),
 * with the worker's own SQL (exports.sql.ts `copySql`, the filters through `filterSql` and COPY
 * settings, as export-stream.ts builds them) and its gzip settings:
 *   parts     COPY into memory; then gzip alone, SHA-256 alone and the S3 upload alone over
 *             the bytes of the step before (each a separate timing, nothing overlapping)
 *   noupload  COPY -> gzip -> SHA-256 -> a null sink, streaming: the worker's pipeline minus S3
 */
import { createHash } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { type CopySetting, copyOut, pool, settingPlaceholder } from "../core/platform/db/index.ts";
import { deleteObjects, uploadStream } from "../core/platform/storage.ts";
import { copySql } from "../core/status-history/exports.sql.ts";
import { filterSql } from "../core/status-history/status-history.sql.ts";

export type StageName = "parts" | "noupload";

/** Gzip as export-stream.ts sets it up. */
const gzip = () => createGzip({ level: 1, chunkSize: 64 * 1024 });
const secondsSince = (t: number) => (performance.now() - t) / 1000;

function copySpec(tenantId: string, format: "csv" | "jsonl") {
  const settings: CopySetting[] = [];
  const where = filterSql(tenantId, { until: new Date() }, settingPlaceholder(settings, "aos.export_"), 2 ** 53 - 1);
  return { text: copySql(format, where), settings };
}

const nullSink = () =>
  new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of source) out.push(c);
  return out;
}

const size = (chunks: Buffer[]) => chunks.reduce((n, c) => n + c.length, 0);

export async function runStage(
  name: StageName,
  tenantId: string,
  format: "csv" | "jsonl",
  gz: boolean,
): Promise<Record<string, number>> {
  const spec = copySpec(tenantId, format);
  if (name === "noupload") {
    const hash = createHash("sha256");
    async function* measure(source: AsyncIterable<Buffer>) {
      for await (const c of source) {
        hash.update(c);
        yield c;
      }
    }
    const t = performance.now();
    const { rowCount } = await copyOut(await pool(), spec, (rows) =>
      gz ? pipeline(rows, gzip(), measure, nullSink()) : pipeline(rows, measure, nullSink()),
    );
    hash.digest("hex");
    return { noUploadS: secondsSince(t), rowCount };
  }

  let t = performance.now();
  const { result: raw, rowCount } = await copyOut(await pool(), spec, (rows) => collect(rows));
  const copyS = secondsSince(t);

  let out = raw;
  let gzipS = 0;
  if (gz) {
    t = performance.now();
    out = await collect(Readable.from(raw).pipe(gzip()));
    gzipS = secondsSince(t);
  }

  t = performance.now();
  const hash = createHash("sha256");
  for (const c of out) hash.update(c);
  hash.digest("hex");
  const hashS = secondsSince(t);

  const key = `bench/stage-${process.pid}.${format}${gz ? ".gz" : ""}`;
  t = performance.now();
  await uploadStream(key, Readable.from(out), { contentType: "application/octet-stream" });
  const uploadS = secondsSince(t);
  await deleteObjects([key]);

  return { copyS, gzipS, hashS, uploadS, rowCount, rawBytes: size(raw), outBytes: size(out) };
}
