/**
 * How a bench starts and ends: `runBench(main, cleanup)` runs `main` and exits with its code (1
 * when it throws), running `cleanup` once at the end or on Ctrl-C (exit 130); `verdict(missed)`
 * prints the targets missed (exit code 1) or that all were met (0). And the report's small
 * parts: `say` (an indented line) and `load` (the load averages).
 */
import { loadavg } from "node:os";

/** An indented line of a bench's report. */
export const say = (m: string) => console.log(`  ${m}`);

/** The machine's load averages (1, 5, 15 min), printed around runs: a busy machine explains odd figures. */
export const load = () =>
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`;

/** Run a bench's `main` and exit with its code; `cleanup` runs once, at the end or on Ctrl-C. */
export async function runBench(
  main: () => Promise<number>,
  cleanup: () => Promise<void>,
  onSigint = "dropping the bench database",
): Promise<never> {
  let cleaning: Promise<void> | undefined;
  const once = () => {
    cleaning ??= cleanup();
    return cleaning;
  };
  process.once("SIGINT", () => {
    console.log(`\nSIGINT: ${onSigint}`);
    void once().finally(() => process.exit(130));
  });
  let code = 1;
  try {
    code = await main();
  } catch (e) {
    console.error(`bench failed: ${(e as Error).stack ?? e}`);
  } finally {
    await once();
  }
  process.exit(code);
}

/** Print the targets missed and return 1, or say all were met and return 0. */
export function verdict(missed: readonly string[]): number {
  if (missed.length) {
    console.log(`\nMISSED:\n${missed.map((m) => `  - ${m}`).join("\n")}`);
    return 1;
  }
  console.log("\nall targets met");
  return 0;
}
