import { config } from "../../core/config.ts";
import { CliFailure, UsageError } from "../failures.ts";
import { AosUnreachableError, requestAos } from "../http.ts";
import type { CommandSpec } from "../main.ts";

/** `?a=1&b=2` of the given parameters (the undefined ones left out), or "" when none is left. */
export const qs = (o: Record<string, string | undefined>) => {
  const q = new URLSearchParams(Object.entries(o).filter((e): e is [string, string] => e[1] !== undefined)).toString();
  return q ? `?${q}` : "";
};

/** Call a running AOS (AOS_URL) with AOS_KEY; prints the reply body, exits 1 on a non-2xx. */
export async function callApi(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<number> {
  let data: unknown;
  if (body !== undefined) {
    try {
      data = JSON.parse(body);
    } catch {
      throw new UsageError("--data: not JSON");
    }
  }
  let res: Response;
  try {
    res = await requestAos(config().cli, method.toUpperCase(), path, data, "follow", headers);
  } catch (e) {
    throw e instanceof AosUnreachableError ? new CliFailure(e.message) : e;
  }
  const text = await res.text();
  try {
    console.log(JSON.stringify(JSON.parse(text), null, 2));
  } catch {
    process.stdout.write(text);
  }
  if (!res.ok) console.error(`HTTP ${res.status}`);
  return res.ok ? 0 : 1;
}

export const commands: CommandSpec[] = [
  {
    name: "api",
    usage: "api <METHOD> <path> [--data JSON]",
    summary: "Call a running AOS (AOS_URL) with AOS_KEY and print the reply",
    options: { data: { type: "string", description: "JSON request body" } },
    run: ({ positionals, values }) => {
      const [method, path] = positionals;
      if (!method || !path) throw new UsageError("a method and a path are required");
      return callApi(method, path, typeof values.data === "string" ? values.data : undefined);
    },
  },
  {
    name: "health",
    usage: "health",
    summary: "GET /health of a running AOS (AOS_URL)",
    run: () => callApi("GET", "/health"),
  },
];
