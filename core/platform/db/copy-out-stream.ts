/**
 * The output of `COPY ... TO STDOUT` as a Readable of large chunks, read straight off the
 * connection's socket: a pg "submittable" (what `client.query()` accepts) in the manner of
 * pg-copy-streams' `to`, which it replaces on the export path.
 *
 * Postgres sends one CopyData message per row (about 250 bytes for a status history row).
 * pg-copy-streams hands each message to a buffer list and concatenates them per socket read, and
 * the consumer then had to gather those 8 KB pieces again before gzip could work on them
 * efficiently. Here each socket chunk is scanned once and the row bytes are copied once, into a
 * `chunkBytes` output buffer that is pushed when full: one copy per byte, a few comparisons per
 * row, and chunks gzip compresses in one call (measured at 1M rows: the exporter's CPU for the
 * COPY stream fell from about 1 s to a few tenths; see decision 0005).
 *
 * Messages other than CopyData (CopyOutResponse, interspersed ParameterStatus, NoticeResponse and
 * NotificationResponse) are skipped; CopyDone or any other message ends the stream, and every
 * byte from there on goes back to pg's own parser (ErrorResponse included, which pg turns into
 * `handleError` on this object).
 */
import assert from "node:assert";
import { Readable } from "node:stream";

const ERROR_RESPONSE = 0x45;
const COPY_DATA = 0x64;
const COPY_DONE = 0x63;
/** Messages that may arrive during COPY out without ending it (Postgres protocol, 55.2.6). */
const INTERSPERSED = new Set([0x48 /* CopyOutResponse */, 0x53, 0x4e, 0x41]);
const HEADER = 5; // code byte + int32 length (which counts itself)

/** The part of pg's connection this stream uses. */
interface Connection {
  stream: {
    read(): Buffer | null;
    listeners(e: "data"): ((b: Buffer) => void)[];
    on(e: "data" | "readable", f: (b: Buffer) => void): void;
    removeListener(e: "data" | "readable", f: (b: Buffer) => void): void;
    pause(): void;
    resume(): void;
  };
  query(text: string): void;
}

export class CopyOutStream extends Readable {
  /** Rows the COPY sent, from its command tag (set once the statement completed). */
  rowCount = 0;
  private connection: Connection | undefined;
  private pgDataHandler: ((b: Buffer) => void) | undefined;
  private readonly onReadable = () => this.forward();
  /** A message header split across socket reads. */
  private head: Buffer | undefined;
  /** Bytes of the current message still to come, and whether they are row bytes. */
  private remaining = 0;
  private isData = false;
  private out: Buffer;
  private filled = 0;
  private wanted = false;
  private forwarding = false;
  private finished = false;

  constructor(
    readonly text: string,
    private readonly chunkBytes = 256 * 1024,
  ) {
    super({ highWaterMark: chunkBytes });
    this.out = Buffer.allocUnsafe(chunkBytes);
  }

  /** Called by pg when the query's turn comes: take the socket from pg's parser. */
  submit(connection: Connection): void {
    this.connection = connection;
    const socket = connection.stream;
    const listeners = socket.listeners("data");
    assert(listeners.length === 1, "expected exactly pg's own data listener on the socket");
    this.pgDataHandler = listeners[0];
    socket.removeListener("data", this.pgDataHandler as (b: Buffer) => void);
    socket.pause();
    socket.on("readable", this.onReadable);
    connection.query(this.text);
    this.forward();
  }

  override _read(): void {
    this.wanted = true;
    this.forward();
  }

  private forward(): void {
    if (this.forwarding || this.finished || !this.wanted || !this.connection) return;
    this.forwarding = true;
    const socket = this.connection.stream;
    while (this.wanted && !this.finished) {
      const chunk = socket.read();
      if (chunk === null) break;
      this.parse(chunk);
    }
    this.forwarding = false;
  }

  private parse(input: Buffer): void {
    let buf = input;
    if (this.head) {
      buf = Buffer.concat([this.head, input]);
      this.head = undefined;
    }
    let i = 0;
    const end = buf.length;
    while (i < end) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, end - i);
        if (this.isData) this.write(buf, i, i + n);
        this.remaining -= n;
        i += n;
        continue;
      }
      const code = buf[i] as number;
      if (code === ERROR_RESPONSE || (code !== COPY_DATA && code !== COPY_DONE && !INTERSPERSED.has(code))) {
        // The error that ends the COPY (or a message that should not come): pg parses it.
        this.finish(buf.subarray(i), false);
        return;
      }
      if (end - i < HEADER) {
        this.head = Buffer.from(buf.subarray(i));
        return;
      }
      if (code === COPY_DONE) {
        // CopyDone has no body; pg reads the rest (CommandComplete, ReadyForQuery) from here.
        this.finish(buf.subarray(i + HEADER), true);
        return;
      }
      this.remaining = buf.readUInt32BE(i + 1) - 4;
      this.isData = code === COPY_DATA;
      i += HEADER;
    }
  }

  /** Copy row bytes into the output buffer, pushing it whenever it fills. */
  private write(src: Buffer, from: number, to: number): void {
    let at = from;
    while (at < to) {
      const n = Math.min(this.chunkBytes - this.filled, to - at);
      src.copy(this.out, this.filled, at, at + n);
      this.filled += n;
      at += n;
      if (this.filled === this.chunkBytes) this.flush();
    }
  }

  private flush(): void {
    if (this.filled === 0) return;
    const full = this.out.subarray(0, this.filled);
    this.out = Buffer.allocUnsafe(this.chunkBytes);
    this.filled = 0;
    if (!this.push(full)) this.wanted = false;
  }

  /** Give the socket back to pg with the bytes it has to parse; end the stream on CopyDone. */
  private finish(rest: Buffer, copyDone: boolean): void {
    this.finished = true;
    const connection = this.connection as Connection;
    const socket = connection.stream;
    const handler = this.pgDataHandler as (b: Buffer) => void;
    socket.removeListener("readable", this.onReadable);
    socket.on("data", handler);
    if (copyDone) {
      this.flush();
      this.push(null);
    }
    handler(rest);
    // Adding a 'data' listener to a paused stream leaves it paused; resume once pg's handler
    // has taken these bytes (as pg-copy-streams does).
    process.nextTick(() => socket.resume());
  }

  /** pg: the statement failed (a COPY error, or the connection ended). */
  handleError(err: Error): void {
    this.destroy(err);
  }

  /** pg: the command tag, `COPY <n>`. */
  handleCommandComplete(msg: { text?: string } | undefined): void {
    const match = /COPY (\d+)/.exec(msg?.text ?? "");
    if (match) this.rowCount = Number.parseInt(match[1] as string, 10);
  }

  handleReadyForQuery(): void {}
}
