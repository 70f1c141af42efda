/**
 * RESP2, the Redis wire protocol, as AOS's Redis client (redis-client.ts) speaks it: commands
 * go out as arrays of bulk strings; replies are simple strings, errors, integers, bulk strings
 * (decoded as UTF-8; null when absent) and arrays of those (null when absent).
 * https://redis.io/docs/latest/develop/reference/protocol-spec/
 */

/** An error reply (`-ERR ...`, `-NOSCRIPT ...`, `-WRONGTYPE ...`): the command reached Redis and was refused. */
export class RedisReplyError extends Error {
  override readonly name = "RedisReplyError";
  /** The first word of the reply: `ERR`, `NOSCRIPT`, `BUSY`, `LOADING`, `WRONGTYPE` ... */
  readonly prefix: string;
  constructor(message: string) {
    super(message);
    this.prefix = message.split(" ", 1)[0] ?? "";
  }
}

export type Reply = string | number | null | RedisReplyError | Reply[];
export type Arg = string | number | Buffer;

const CRLF = "\r\n";

/** One command as RESP: `*<n>\r\n` then `$<len>\r\n<bytes>\r\n` per argument. */
export function encodeCommand(args: readonly Arg[]): Buffer {
  const parts: Buffer[] = [];
  let head = `*${args.length}${CRLF}`;
  for (const a of args) {
    if (Buffer.isBuffer(a)) {
      parts.push(Buffer.from(`${head}$${a.length}${CRLF}`), a);
      head = CRLF;
      continue;
    }
    const s = typeof a === "number" ? String(a) : a;
    head += `$${Buffer.byteLength(s)}${CRLF}${s}${CRLF}`;
  }
  // The common case (no Buffer arguments) is one string, one allocation.
  if (parts.length === 0) return Buffer.from(head);
  parts.push(Buffer.from(head));
  return Buffer.concat(parts);
}

const INCOMPLETE = Symbol("incomplete");
type Parsed = Reply | typeof INCOMPLETE;
const EMPTY = Buffer.alloc(0);

/**
 * Reads replies from the byte stream, in order, whatever the chunking: `feed` every chunk, and
 * `onReply` is called once per complete reply. An unknown type byte is a protocol error: the
 * connection can no longer be trusted, so `feed` throws and the caller drops it.
 */
export class ReplyParser {
  private buf: Buffer = EMPTY;
  private pos = 0;

  constructor(private readonly onReply: (reply: Reply) => void) {}

  feed(chunk: Buffer): void {
    this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), chunk]) : chunk;
    this.pos = 0;
    for (;;) {
      const start = this.pos;
      const reply = this.next();
      if (reply === INCOMPLETE) {
        // A reply split across chunks is parsed again from its start when the rest arrives.
        this.pos = start;
        return;
      }
      this.onReply(reply);
      if (this.pos >= this.buf.length) {
        this.buf = EMPTY;
        this.pos = 0;
        return;
      }
    }
  }

  /** Drop what was buffered (the connection it came from is gone). */
  reset(): void {
    this.buf = EMPTY;
    this.pos = 0;
  }

  private line(): string | typeof INCOMPLETE {
    const end = this.buf.indexOf(CRLF, this.pos);
    if (end < 0) return INCOMPLETE;
    const s = this.buf.toString("utf8", this.pos, end);
    this.pos = end + 2;
    return s;
  }

  private next(): Parsed {
    if (this.pos >= this.buf.length) return INCOMPLETE;
    const type = this.buf[this.pos];
    this.pos += 1;
    const line = this.line();
    if (line === INCOMPLETE) return INCOMPLETE;
    switch (type) {
      case 0x2b: // +
        return line;
      case 0x2d: // -
        return new RedisReplyError(line);
      case 0x3a: // :
        return Number(line);
      case 0x24: {
        // $
        const len = Number(line);
        if (len < 0) return null;
        if (this.pos + len + 2 > this.buf.length) return INCOMPLETE;
        const s = this.buf.toString("utf8", this.pos, this.pos + len);
        this.pos += len + 2;
        return s;
      }
      case 0x2a: {
        // *
        const n = Number(line);
        if (n < 0) return null;
        const out: Reply[] = new Array(n);
        for (let i = 0; i < n; i++) {
          const item = this.next();
          if (item === INCOMPLETE) return INCOMPLETE;
          out[i] = item;
        }
        return out;
      }
      default:
        throw new Error(`Redis protocol error: unexpected reply type byte ${type}`);
    }
  }
}
