/**
 * The S3 of `npm run bench:export --sink null` (the default): S3's API over HTTP on 127.0.0.1, with
 * every body read to its end and thrown away, as psql's `\copy ... to /dev/null` throws its rows
 * away. `export-null-s3.ts <bucket>` prints {"endpoint"} on stdout once ready, stops on SIGTERM.
 *
 * Why not s3rver for the timing: s3rver does S3's own work on this machine (an MD5 of every part,
 * each part written to disk, then on CompleteMultipartUpload every part read back, concatenated
 * into the object and hashed again). For a 392 MB JSONL export that is about 5 CPU seconds on
 * the two cores the exporter and Postgres share, work that real S3 does on its own machines and
 * the baseline never pays. Here the exporter still pays everything on its side of the wire (the
 * SDK, signing, CRC32 checksums, HTTP, the socket writes); the server only reads and discards.
 *
 * It answers what an export and the bench send: PutObject, CreateMultipartUpload, UploadPart,
 * CompleteMultipartUpload, AbortMultipartUpload, DeleteObjects, HeadBucket, and HeadObject with
 * the size of the object, which it keeps (only the size), so the bench can check that every byte
 * of the export arrived.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

const [bucket] = process.argv.slice(2) as [string];
/** Completed objects' sizes, and bytes received so far per multipart upload. */
const objects = new Map<string, number>();
const uploads = new Map<string, { key: string; bytes: number }>();

const xml = (res: ServerResponse, body: string) => {
  res.writeHead(200, { "content-type": "application/xml" });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
};

/** Read the body to its end, keeping nothing; resolves with its size. */
function drain(req: IncomingMessage): Promise<number> {
  return new Promise((done, fail) => {
    let n = 0;
    req.on("data", (c: Buffer) => {
      n += c.length;
    });
    req.on("end", () => done(n));
    req.on("error", fail);
  });
}

const etag = () => `"${randomUUID().replaceAll("-", "")}"`;

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const q = url.searchParams;
  // Path style: /<bucket>/<key>
  const [, b = "", ...rest] = url.pathname.split("/");
  const key = decodeURIComponent(rest.join("/"));
  const size = await drain(req);
  if (b !== bucket) {
    res.writeHead(404, { "content-type": "application/xml" });
    res.end("<Error><Code>NoSuchBucket</Code><Message>no such bucket</Message></Error>");
    return;
  }
  const uploadId = q.get("uploadId");
  if (req.method === "HEAD" && !key) {
    res.writeHead(200);
    res.end();
  } else if (req.method === "HEAD") {
    const bytes = objects.get(key);
    res.writeHead(
      bytes === undefined ? 404 : 200,
      bytes === undefined ? {} : { "content-length": bytes, etag: etag() },
    );
    res.end();
  } else if (req.method === "POST" && q.has("delete")) {
    // Quiet mode: an empty result means every key was deleted. The sizes stay (a number per
    // object, a few dozen per bench run).
    xml(res, "<DeleteResult></DeleteResult>");
  } else if (req.method === "POST" && q.has("uploads")) {
    const id = randomUUID();
    uploads.set(id, { key, bytes: 0 });
    xml(
      res,
      `<InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`,
    );
  } else if (req.method === "PUT" && uploadId) {
    const u = uploads.get(uploadId);
    if (u) u.bytes += size;
    res.writeHead(u ? 200 : 404, { etag: etag() });
    res.end();
  } else if (req.method === "PUT") {
    objects.set(key, size);
    res.writeHead(200, { etag: etag() });
    res.end();
  } else if (req.method === "POST" && uploadId) {
    const u = uploads.get(uploadId);
    uploads.delete(uploadId);
    if (u) objects.set(u.key, u.bytes);
    xml(
      res,
      `<CompleteMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><ETag>${etag()}</ETag></CompleteMultipartUploadResult>`,
    );
  } else if (req.method === "DELETE") {
    if (uploadId) uploads.delete(uploadId);
    else objects.delete(key);
    res.writeHead(204);
    res.end();
  } else {
    res.writeHead(501, { "content-type": "application/xml" });
    res.end("<Error><Code>NotImplemented</Code><Message>not in the bench's null S3</Message></Error>");
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch((e: unknown) => {
    res.writeHead(500);
    res.end(String(e));
  });
});
server.listen(0, "127.0.0.1", () => {
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  process.stdout.write(`${JSON.stringify({ endpoint: `http://127.0.0.1:${port}` })}\n`);
});
process.once("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
