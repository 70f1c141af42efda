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

describe("cold-start budget", () => {
  const KB = 1024;
  const built = (kb: number, lazyKb?: number, problems: string[] = []) => ({
    kind: "http" as const,
    bytes: kb * KB,
    lazyBytes: lazyKb === undefined ? undefined : lazyKb * KB,
    problems,
  });

  it("passes a handler within 400 KB at import, 3.0x pg and 1 MB with every chunk", () => {
    expect(missesOf(built(400, 1024), 3.0)).toEqual([]);
    expect(missesOf(built(120), 1)).toEqual([]);
  });

  it("fails a handler over 400 KB at import, over 3.0x pg (or not timed), or over 1 MB with its chunks", () => {
    expect(missesOf(built(401), 1)).toEqual(["> 400.0 KB at import (401.0)"]);
    expect(missesOf(built(100), 3.01)).toEqual(["> 3x pg import time"]);
    expect(missesOf(built(100), Number.NaN)).toEqual(["> 3x pg import time"]);
    expect(missesOf(built(300, 1025), 1)).toEqual(["> 1024.0 KB with every chunk (1025.0)"]);
    expect(missesOf(built(401, 1025, ["opens connections at import: 127.0.0.1:9"]), 4)).toEqual([
      "opens connections at import: 127.0.0.1:9",
      "> 400.0 KB at import (401.0)",
      "> 3x pg import time",
      "> 1024.0 KB with every chunk (1025.0)",
    ]);
  });

  it("never fails the baseline", () => {
    expect(missesOf({ kind: "baseline", bytes: 900 * KB, problems: [] }, 1)).toEqual([]);
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
