/**
 * The README's quickstart, run as a new user would: `npm start` (spawned, with its own database,
 * roles and ports), then every command of the README block in order, in one bash session, with
 * the key `npm start` printed pasted where the README says to paste it. Each command must succeed;
 * the figures it promises (a finished job, 6 credits spent of 100, an export file) must hold.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { AosDev } from "../setup/aos-dev.ts";

const dev = new AosDev("quickstart");
const work = mkdtempSync(join(tmpdir(), "aos-quickstart-"));
afterAll(async () => {
  await dev.cleanup();
  rmSync(work, { recursive: true, force: true });
});

/** The commands of the README's quickstart block: one per line, comments and blank lines dropped. */
function quickstart(): string[] {
  const readme = readFileSync("README.md", "utf8");
  const block = /<!-- quickstart:start -->\n```sh\n([\s\S]*?)```\n<!-- quickstart:end -->/.exec(readme)?.[1];
  if (!block) throw new Error("README.md has no quickstart block");
  return block
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
}

/** `s` as one single-quoted shell word (nothing in it expands). */
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe("the README quickstart", () => {
  it("runs command by command against npm start", { timeout: 180_000 }, async () => {
    const commands = quickstart();
    expect(commands[0]).toBe("npm start");
    expect(commands[1]).toBe("export AOS_KEY=aos_...");
    const s = await dev.start();
    const repo = resolve(".");
    // `npx aos` resolves the repository's own bin from any directory below it; the export file
    // goes to a scratch directory instead of the checkout.
    const script = [
      "set -euo pipefail",
      `cd ${JSON.stringify(repo)}`,
      `export AOS_URL=${JSON.stringify(s.url)}`,
      `export AOS_KEY=${s.key}`,
      ...commands.slice(2).map((c) => {
        const line = c.replace("--out acme-history.csv.gz", `--out ${join(work, "acme-history.csv.gz")}`);
        return `printf '%s\\n' ${shellQuote(`$ ${c}`)}\n${line}`;
      }),
    ].join("\n");
    const { code, out } = await new Promise<{ code: number; out: string }>((done) => {
      execFile(
        "bash",
        ["-c", script],
        { env: dev.serverEnv({ AOS_URL: s.url }), timeout: 150_000, maxBuffer: 10_000_000 },
        (err, stdout, stderr) =>
          done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
      );
    });
    expect(code, out).toBe(0);
    // Every command ran (its echo line is there), in order.
    const ran = out.split("\n").filter((l) => l.startsWith("$ "));
    expect(ran).toEqual(commands.slice(2).map((c) => `$ ${c}`));
    // What the block promises.
    expect(out).toMatch(/"status":\s*"completed"/);
    expect(out).toMatch(/"balance":\s*94/);
    const file = join(work, "acme-history.csv.gz");
    expect(existsSync(file)).toBe(true);
    const csv = gunzipSync(readFileSync(file)).toString("utf8").split("\n");
    expect(csv[0]).toMatch(/^id,tenant_id,entity_type,entity_id,old_status,new_status/);
    expect(csv.filter((l) => l.includes(",job,")).length).toBeGreaterThan(0);
    expect(await dev.stop(s)).toEqual({ code: 0, signal: null });
  });
});
