/**
 * The cold-start bench's import probe: it must see a module that opens a connection while being
 * imported (the bench fails such a handler), and must not see one in a module that stays lazy.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bundle, missesOf, timeImport } from "../../bench/cold-start.ts";

const dir = mkdtempSync(join(tmpdir(), "aos-probe-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fixture(name: string, source: string): string {
  const file = join(dir, name);
  writeFileSync(file, source);
  return file;
}

describe("cold-start import probe", () => {
  it("reports a connection opened at module scope", async () => {
    const file = fixture(
      "eager.mjs",
      'import net from "node:net";\nnet.connect(9, "127.0.0.1").on("error", () => {});\nexport const handler = () => 1;\n',
    );
    const r = await timeImport(file, "handler");
    expect(r.opened).toEqual(["127.0.0.1:9"]);
    expect(r.exportType).toBe("function");
  });

  it("reports a connection started just after import (a module-scope promise)", async () => {
    const file = fixture(
      "soon.mjs",
      'import net from "node:net";\nsetTimeout(() => net.connect({ port: 9, host: "127.0.0.1" }).on("error", () => {}), 0);\nexport const handler = 1;\n',
    );
    const r = await timeImport(file, "handler");
    expect(r.opened).toEqual(["127.0.0.1:9"]);
    expect(r.exportType).toBe("number");
  });

  it("sees nothing in a lazy module, and times its import", async () => {
    const file = fixture(
      "lazy.mjs",
      'import net from "node:net";\nexport const handler = () => net.connect(9, "127.0.0.1");\n',
    );
    const r = await timeImport(file, "handler");
    expect(r.opened).toEqual([]);
    expect(r.error).toBeUndefined();
    expect(r.ms).toBeGreaterThan(0);
  });

  it("reports a module that fails to import", async () => {
    const r = await timeImport(fixture("broken.mjs", 'throw new Error("boom at import");\n'), "handler");
    expect(r.error).toContain("boom at import");
  });
});

describe("cold-start targets", () => {
  const KB = 1024;
  const built = (cls: "hot-path" | "sqs" | "other", kb: number, problems: string[] = []) => ({
    kind: "http" as const,
    cls,
    bytes: kb * KB,
    problems,
  });

  it("passes handlers within their class's limits", () => {
    expect(missesOf(built("hot-path", 300, []), 3.5)).toEqual([]);
    expect(missesOf(built("sqs", 800, []), 9)).toEqual([]);
    expect(missesOf(built("other", 1024, []), 9)).toEqual([]);
  });

  it("fails a hot-path handler over 300 KB or 3.5x pg, an SQS one over 800 KB, any over 1 MB", () => {
    expect(missesOf(built("hot-path", 301, []), 1)).toEqual(["hot path > 300.0 KB"]);
    expect(missesOf(built("hot-path", 100, []), 3.6)).toEqual(["hot path > 3.5x pg import"]);
    expect(missesOf(built("hot-path", 100, []), Number.NaN)).toEqual(["hot path > 3.5x pg import"]);
    expect(missesOf(built("sqs", 801, []), 1)).toEqual(["sqs > 800.0 KB when sending"]);
    expect(missesOf(built("other", 1025, []), 1)).toEqual(["> 1024.0 KB with every lazy chunk (1025.0)"]);
  });

  it("counts lazily loaded chunks: what a send to SQS loads, and everything a handler can load", () => {
    const lazy = { kind: "http" as const, cls: "hot-path" as const, bytes: 250 * KB, problems: [] };
    expect(missesOf({ ...lazy, lazyBytes: 900 * KB, sendBytes: 700 * KB }, 1)).toEqual([]);
    expect(missesOf({ ...lazy, lazyBytes: 900 * KB, sendBytes: 801 * KB }, 1)).toEqual(["sqs > 800.0 KB when sending"]);
    expect(missesOf({ ...lazy, lazyBytes: 1025 * KB }, 1)).toEqual(["> 1024.0 KB with every lazy chunk (1025.0)"]);
  });

  it("fails a handler whose file is missing", async () => {
    const b = await bundle(
      { kind: "http", name: "GET /nope", file: "functions/http/nope/get.ts", exportName: "handler", links: [] },
      dir,
      0,
    );
    expect(b.problems).toEqual(["handler file missing"]);
    expect(missesOf(b, Number.NaN)).toEqual(["handler file missing"]);
  });
});
