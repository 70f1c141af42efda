/**
 * core/platform/storage.ts against real s3rver instances: the harness's, one behind a recording
 * proxy (to see the multipart calls), and one this file starts and stops itself.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { crc32 } from "node:zlib";
import S3rver from "s3rver";
import { afterAll, describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import {
  checkS3,
  deleteObject,
  deleteObjects,
  getObject,
  headObject,
  MIN_PART_BYTES,
  presignGet,
  putObject,
  uploadStream,
} from "../../core/platform/storage.ts";
import { withConfig } from "../setup/config-override.ts";
import { type HttpProxy, startHttpProxy } from "../setup/http-proxy.ts";

const MiB = 1024 * 1024;
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** `total` random bytes in chunks of an odd size (so chunk and part boundaries never line up). */
async function* randomStream(total: number, hash: ReturnType<typeof createHash>, chunk = 64 * 1024 + 7) {
  for (let sent = 0; sent < total; sent += chunk) {
    const b = randomBytes(Math.min(chunk, total - sent));
    hash.update(b);
    yield b;
  }
}

async function sha256Of(stream: AsyncIterable<Uint8Array>): Promise<{ hex: string; bytes: number }> {
  const h = createHash("sha256");
  let bytes = 0;
  for await (const c of stream) {
    h.update(c);
    bytes += c.length;
  }
  return { hex: h.digest("hex"), bytes };
}

async function proxiedS3(): Promise<HttpProxy> {
  const proxy = await startHttpProxy(config().s3.endpoint as string);
  cleanups.push(() => proxy.close());
  return proxy;
}

const uploadParts = (p: HttpProxy) => p.requests.filter((r) => r.method === "PUT" && /[?&]partNumber=/.test(r.url));
const aborts = (p: HttpProxy) => p.requests.filter((r) => r.method === "DELETE" && /[?&]uploadId=/.test(r.url));
const completes = (p: HttpProxy) => p.requests.filter((r) => r.method === "POST" && /[?&]uploadId=/.test(r.url));

describe("uploadStream", () => {
  it("uploads a 12 MB stream as a 3-part multipart upload and it reads back byte for byte", async () => {
    const proxy = await proxiedS3();
    const sent = createHash("sha256");
    const total = 12 * MiB;
    const out = await withConfig({ S3_ENDPOINT: proxy.url }, () =>
      uploadStream("big/twelve.bin", randomStream(total, sent), {
        contentType: "application/octet-stream",
        metadata: { origin: "test" },
        partSizeBytes: 5 * MiB,
        concurrency: 2,
      }),
    );
    expect(out.bytes).toBe(total);
    expect(out.key).toBe("big/twelve.bin");
    expect(out.etag).toMatch(/^[0-9a-f]{32}/);
    // 5 + 5 + 2 MiB: three UploadPart calls, one Complete, never more than 2 parts at once.
    expect(uploadParts(proxy).map((r) => r.body.length)).toEqual([5 * MiB, 5 * MiB, 2 * MiB]);
    expect(completes(proxy)).toHaveLength(1);
    expect(aborts(proxy)).toHaveLength(0);
    expect(proxy.maxInFlight()).toBeLessThanOrEqual(2);

    const obj = await getObject("big/twelve.bin");
    expect(obj).toMatchObject({ bytes: total, contentType: "application/octet-stream", metadata: { origin: "test" } });
    expect(await sha256Of(obj.body)).toEqual({ hex: sent.digest("hex"), bytes: total });
  });

  it("uses a single PutObject for a body smaller than one part, including an empty one", async () => {
    const proxy = await proxiedS3();
    await withConfig({ S3_ENDPOINT: proxy.url }, async () => {
      const small = await uploadStream(
        "small.txt",
        (async function* () {
          yield Buffer.from("hello ");
          yield Buffer.from("world");
        })(),
        { contentType: "text/plain" },
      );
      expect(small.bytes).toBe(11);
      const empty = await uploadStream("empty.txt", (async function* () {})(), { contentType: "text/plain" });
      expect(empty.bytes).toBe(0);
    });
    expect(uploadParts(proxy)).toHaveLength(0);
    expect(proxy.requests.map((r) => r.method)).toEqual(["PUT", "PUT"]);
    const back = await getObject("small.txt");
    expect(Buffer.concat(await back.body.toArray()).toString()).toBe("hello world");
    expect((await headObject("empty.txt")).bytes).toBe(0);
  });

  it("sends parts and a single PutObject with UNSIGNED-PAYLOAD and a signed CRC32 of the body, not a SHA-256", async () => {
    const proxy = await proxiedS3();
    await withConfig({ S3_ENDPOINT: proxy.url }, async () => {
      await uploadStream("unsigned/parts.bin", randomStream(7 * MiB, createHash("sha256")), {
        contentType: "application/octet-stream",
        partSizeBytes: 5 * MiB,
      });
      await uploadStream(
        "unsigned/one.txt",
        (async function* () {
          yield Buffer.from("one put");
        })(),
        { contentType: "text/plain" },
      );
    });
    const bodies = proxy.requests.filter((r) => r.method === "PUT");
    expect(bodies).toHaveLength(3);
    for (const r of bodies) {
      expect(r.headers["x-amz-content-sha256"]).toBe("UNSIGNED-PAYLOAD");
      // The body's integrity rests on the CRC32 S3 checks it against, and that header is signed
      // (s3rver checks neither CRC32 nor SigV4 signatures, so only what is sent can be checked here).
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(r.body));
      expect(r.headers["x-amz-checksum-crc32"]).toBe(crc.toString("base64"));
      const signed = /SignedHeaders=([^,]+)/.exec(String(r.headers.authorization))?.[1]?.split(";");
      expect(signed).toEqual(expect.arrayContaining(["x-amz-checksum-crc32", "x-amz-content-sha256"]));
    }
    expect((await headObject("unsigned/parts.bin")).bytes).toBe(7 * MiB);
  });

  it("rejects and leaves no object when the source stream fails mid-way, aborting the multipart upload", async () => {
    const proxy = await proxiedS3();
    async function* failing() {
      yield randomBytes(6 * MiB); // one full part goes out
      throw new Error("source broke");
    }
    const err = await withConfig({ S3_ENDPOINT: proxy.url }, () =>
      uploadStream("broken/source.bin", failing(), { contentType: "application/octet-stream", partSizeBytes: 5 * MiB }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ kind: "internal", code: "storage.source_failed" });
    expect((err as AppError).cause).toMatchObject({ message: "source broke" });
    expect(uploadParts(proxy)).toHaveLength(1);
    expect(completes(proxy)).toHaveLength(0);
    // The abort names the upload that was started (s3rver itself answers it 405: it has no abort).
    const created = proxy.requests.find((r) => r.method === "POST" && /[?&]uploads/.test(r.url));
    const uploadId = /[?&]uploadId=([^&]+)/.exec(uploadParts(proxy)[0]?.url ?? "")?.[1];
    expect(created).toBeDefined();
    expect(aborts(proxy).map((r) => /[?&]uploadId=([^&]+)/.exec(r.url)?.[1])).toEqual([uploadId]);
    await expect(headObject("broken/source.bin")).rejects.toMatchObject({ kind: "not_found", code: "s3.not_found" });
  });

  it("rejects with s3.unavailable and leaves no object when S3 goes away mid-upload", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aos-own-s3-"));
    const bucket = "own-bucket";
    const own = new S3rver({
      port: 0,
      address: "127.0.0.1",
      silent: true,
      directory: dir,
      configureBuckets: [{ name: bucket }],
    });
    const { port } = (await own.run()) as AddressInfo;
    let restarted: S3rver | undefined;
    cleanups.push(async () => {
      await restarted?.close();
      rmSync(dir, { recursive: true, force: true });
    });
    async function* source() {
      yield randomBytes(5 * MiB); // part 1
      await sleep(300);
      await own.close(); // S3 is gone before part 2
      yield randomBytes(5 * MiB);
      yield randomBytes(1 * MiB);
    }
    await withConfig({ S3_ENDPOINT: `http://127.0.0.1:${port}`, S3_BUCKET: bucket }, async () => {
      const err = await uploadStream("gone/mid.bin", source(), {
        contentType: "application/octet-stream",
        partSizeBytes: 5 * MiB,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ kind: "unavailable", code: "s3.unavailable", retryable: true });
      // S3 comes back on the same port and directory: the object was never completed.
      restarted = new S3rver({
        port,
        address: "127.0.0.1",
        silent: true,
        directory: dir,
        configureBuckets: [{ name: bucket }],
      });
      await restarted.run();
      await checkS3();
      await expect(headObject("gone/mid.bin")).rejects.toMatchObject({ kind: "not_found" });
    });
  });

  it("stops and aborts when the caller's signal aborts", async () => {
    const proxy = await proxiedS3();
    const ac = new AbortController();
    async function* slow() {
      yield randomBytes(5 * MiB);
      yield randomBytes(5 * MiB);
      ac.abort(new Error("caller gave up"));
      await sleep(50);
      yield randomBytes(5 * MiB);
    }
    const err = await withConfig({ S3_ENDPOINT: proxy.url }, () =>
      uploadStream("aborted.bin", slow(), {
        contentType: "application/octet-stream",
        signal: ac.signal,
        partSizeBytes: 5 * MiB,
      }),
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ message: "caller gave up" });
    expect(aborts(proxy)).toHaveLength(1);
    expect(completes(proxy)).toHaveLength(0);
    await expect(headObject("aborted.bin")).rejects.toMatchObject({ kind: "not_found" });
  });

  it("refuses a part size under S3's 5 MiB minimum before touching S3", async () => {
    await expect(
      uploadStream("x", (async function* () {})(), { contentType: "text/plain", partSizeBytes: MIN_PART_BYTES - 1 }),
    ).rejects.toMatchObject({ kind: "validation", code: "storage.invalid_part_size" });
  });
});

describe("objects", () => {
  it("puts, heads, gets and deletes; a missing key is not_found", async () => {
    const put = await putObject("docs/a.json", '{"a":1}', { contentType: "application/json", metadata: { v: "1" } });
    expect(put).toMatchObject({ key: "docs/a.json", bytes: 7 });
    expect(await headObject("docs/a.json")).toMatchObject({
      bytes: 7,
      etag: put.etag,
      contentType: "application/json",
      metadata: { v: "1" },
    });
    await deleteObject("docs/a.json");
    await expect(headObject("docs/a.json")).rejects.toMatchObject({ kind: "not_found", code: "s3.not_found" });
    const err = await getObject("docs/a.json").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ kind: "not_found", code: "s3.not_found", message: "object docs/a.json not found" });
  });

  it("deletes many objects at once", async () => {
    await putObject("many/1", "1", { contentType: "text/plain" });
    await putObject("many/2", "2", { contentType: "text/plain" });
    expect(await deleteObjects(["many/1", "many/2"])).toEqual({ deleted: 2, failed: [] });
    await expect(headObject("many/1")).rejects.toMatchObject({ kind: "not_found" });
    await expect(headObject("many/2")).rejects.toMatchObject({ kind: "not_found" });
    expect(await deleteObjects([])).toEqual({ deleted: 0, failed: [] });
  });
});

describe("presignGet", () => {
  it("gives a URL plain fetch can download, with X-Amz-Expires set to the ttl", async () => {
    await putObject("share/report.csv", "a,b\n1,2\n", { contentType: "text/csv" });
    const url = await presignGet("share/report.csv", { ttlS: 120, filename: "Bericht März.csv" });
    const u = new URL(url);
    expect(u.searchParams.get("X-Amz-Expires")).toBe("120");
    expect(u.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    expect(u.searchParams.get("response-content-disposition")).toBe(
      `attachment; filename="Bericht M_rz.csv"; filename*=UTF-8''Bericht%20M%C3%A4rz.csv`,
    );
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("a,b\n1,2\n");
  });

  it("defaults the ttl to PRESIGN_TTL_S", async () => {
    const url = await presignGet("share/report.csv");
    expect(new URL(url).searchParams.get("X-Amz-Expires")).toBe(String(config().s3.presignTtlS));
  });

  it("is refused (403) once a 1 s ttl has passed", async () => {
    await putObject("share/short.txt", "soon gone", { contentType: "text/plain" });
    const url = await presignGet("share/short.txt", { ttlS: 1 });
    expect(new URL(url).searchParams.get("X-Amz-Expires")).toBe("1");
    await sleep(2_100);
    const res = await fetch(url);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("Request has expired");
  });

  it("rejects a ttl outside 1 s to 7 days", async () => {
    await expect(presignGet("k", { ttlS: 0 })).rejects.toMatchObject({ code: "storage.invalid_ttl" });
    await expect(presignGet("k", { ttlS: 7 * 24 * 3600 + 1 })).rejects.toMatchObject({ code: "storage.invalid_ttl" });
  });
});

describe("checkS3", () => {
  it("passes for the configured bucket", async () => {
    await expect(checkS3()).resolves.toBeUndefined();
  });

  it("names a missing bucket", async () => {
    const err = await withConfig({ S3_BUCKET: "no-such-bucket-here" }, () => checkS3().catch((e: unknown) => e));
    expect(err).toMatchObject({ kind: "unavailable", code: "s3.no_such_bucket" });
    expect((err as Error).message).toContain("no-such-bucket-here");
  });

  it("reports s3.unavailable when nothing listens", async () => {
    const err = await withConfig({ S3_ENDPOINT: "http://127.0.0.1:9" }, () => checkS3().catch((e: unknown) => e));
    expect(err).toMatchObject({ kind: "unavailable", code: "s3.unavailable" });
  });
});
