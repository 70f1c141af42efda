/**
 * What a CLI command says when it cannot reach what it needs: which URL it tried, from which
 * setting, and how to get it running, instead of a driver's `fetch failed` or `ECONNREFUSED`.
 */

/** A failure the command can only report: printed as is, exit 1. */
export class CliFailure extends Error {
  override name = "CliFailure";
}

/** A command used wrongly (bad or missing flags): printed with the command's help, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A URL with its password hidden. */
/** A flag's positive integer (1..max), `fallback` when absent; a UsageError naming the flag otherwise. */
export function positiveInt(v: string | boolean | undefined, flag: string, fallback: number, max: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== "string" || !Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(`${flag} must be an integer from 1 to ${max}`);
  return n;
}

export const redactUrl = (url: string) => url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");

/** Node's codes for a server that is not there, and SQLSTATE 57P03 (starting up). */
const unreachableCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "57P03",
]);
/** The server answered but refused the login: no such role (28000), wrong password (28P01), no such database (3D000). */
const refusedCodes = new Set(["28000", "28P01", "3D000"]);

/** The first error in `e`'s cause chain (AggregateErrors included) with a code in `codes`. */
function findCode(e: unknown, codes: Set<string>, depth = 0): { code: string; message: string } | undefined {
  if (!e || typeof e !== "object" || depth > 8) return undefined;
  const { code, message, cause, errors } = e as { code?: unknown; message?: string; cause?: unknown; errors?: unknown };
  if (typeof code === "string" && codes.has(code)) return { code, message: message ?? code };
  for (const inner of [cause, ...(Array.isArray(errors) ? errors : [])]) {
    const found = findCode(inner, codes, depth + 1);
    if (found) return found;
  }
  return undefined;
}

const HOW_TO_START = "Start it with `npm start` (it starts Postgres and Redis too when they are not running)";

/**
 * `e` said as what to do, when it is a failure to reach or log in to Postgres at `url`
 * (from the setting `setting`); otherwise undefined.
 */
export function postgresFailure(e: unknown, url: string, setting: string): CliFailure | undefined {
  const down = findCode(e, unreachableCodes);
  if (down) {
    return new CliFailure(
      `cannot reach Postgres at ${redactUrl(url)} (${setting}): ${down.message}. ${HOW_TO_START}, or set ${setting} to a running server.`,
    );
  }
  const refused = findCode(e, refusedCodes);
  if (refused) {
    return new CliFailure(
      `Postgres at ${redactUrl(url)} (${setting}) refused the connection: ${refused.message}. On this machine \`npm start\` creates the database and its two roles (docs/decisions/0011-db-roles.md); elsewhere create them as docs/deploy.md says, or set ${setting}.`,
    );
  }
  return undefined;
}

/** AOS did not answer at `url` (AOS_URL): which URL, why, and how to start it. */
export function aosUnreachable(url: string, cause: string): string {
  return `cannot reach AOS at ${url} (AOS_URL): ${cause}. Is it running? Start it with \`npm start\` in the repository (it prints an AOS_KEY to export), or set AOS_URL to where it runs.`;
}
