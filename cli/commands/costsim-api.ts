/**
 * `aos costsim simulate|status|reset|incidents|canary-run|canary-reports|divergence`: the cost
 * simulation routes by hand, against a running AOS (AOS_URL, AOS_KEY), for the operator who is
 * looking at the drift breaker (docs/runbooks/costsim-circuit-breaker.md) and the developer who
 * prices a plan before running it. Each prints the reply and exits 1 on a non-2xx, as `aos api`.
 */
import { readFileSync } from "node:fs";
import { CliFailure, positiveInt, UsageError } from "../failures.ts";
import type { CommandSpec } from "../main.ts";
import { callApi, qs } from "./api.ts";

type Values = Record<string, string | boolean | undefined>;
const str = (v: Values, name: string) => (typeof v[name] === "string" ? (v[name] as string) : undefined);
const API = "/api/v1/costsim";
const limit = (v: Values) =>
  str(v, "limit") === undefined ? undefined : String(positiveInt(v.limit, "--limit", 50, 1000));

function jsonOf(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${what}: not JSON`);
  }
}

/**
 * The plan of `simulate`, from a file (or `-` for stdin): the plan itself (`{"workflow": ...}` or
 * `{"job": ...}`), or a workflow file as `aos workflows register` takes it (`{name, steps}` or a
 * steps array), priced as its inline steps.
 */
function planFrom(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (e) {
    throw new CliFailure(
      `${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`,
    );
  }
  const doc = jsonOf(text, path);
  if (Array.isArray(doc)) return { workflow: { steps: doc } };
  if (doc && typeof doc === "object" && "steps" in doc && !("workflow" in doc) && !("job" in doc))
    return { workflow: doc };
  return doc;
}

const limitOption = { limit: { type: "string" as const, description: "at most this many (1 to 1000)", default: "50" } };

export const commands: CommandSpec[] = [
  {
    name: "costsim simulate",
    usage: "costsim simulate <plan.json | -> [--input JSON] [--budget N] [--v2]",
    summary:
      'What a plan would cost, take and risk, executing nothing: a file (or - for stdin) holding {"workflow": {"name": N} | {"steps": [...]}}, {"job": <spawn body>}, or a workflow as `aos workflows register` takes it; V1 by default, V2 alone with --v2 (operator)',
    options: {
      input: { type: "string", description: "the workflow run's input (what input refs read), JSON" },
      budget: { type: "string", description: "a cap in credits: the reply says whether the plan fits it" },
      v2: {
        type: "boolean",
        description: "V2 alone (POST /api/v1/costsim/v2/simulate), calibrated from the tenant's history",
      },
    },
    run: ({ positionals: [path], values: v }) => {
      if (!path) throw new UsageError("a plan file (or -) is required");
      const plan = planFrom(path);
      const input = str(v, "input") === undefined ? undefined : jsonOf(str(v, "input") as string, "--input");
      const budget = str(v, "budget");
      if (budget !== undefined && !/^\d+(\.\d+)?$/.test(budget)) throw new UsageError("--budget: a number of credits");
      const body = JSON.stringify({ plan, input, budget: budget === undefined ? undefined : Number(budget) });
      return callApi("POST", `${API}${v.v2 === true ? "/v2" : ""}/simulate`, body);
    },
  },
  {
    name: "costsim status",
    usage: "costsim status",
    summary:
      "The V2 sandbox and its drift breaker: on or off, CLOSED/OPEN/HALF_OPEN, the open incident, thresholds, provenance by verdict, accuracy",
    run: () => callApi("GET", `${API}/v2/status`),
  },
  {
    name: "costsim reset",
    usage: "costsim reset --reason R",
    summary:
      "Re-enable V2 now (admin): the drift breaker closed with the reason, its open incidents ended and their alerts resolved",
    options: { reason: { type: "string", description: "why (3 to 500 characters), kept with the incident" } },
    run: ({ values: v }) => {
      const reason = str(v, "reason");
      if (reason === undefined) throw new UsageError("--reason is required");
      return callApi("POST", `${API}/v2/reset`, JSON.stringify({ reason }));
    },
  },
  {
    name: "costsim incidents",
    usage: "costsim incidents [--open] [--limit N] [--cursor C]",
    summary: "The drift breaker's incidents, newest first: trigger, reason, figures, until when, how each ended",
    options: {
      open: { type: "boolean", description: "only the incidents still open" },
      ...limitOption,
      cursor: { type: "string", description: "the next_cursor of the previous page" },
    },
    run: ({ values: v }) =>
      callApi(
        "GET",
        `${API}/v2/incidents${qs({ open: v.open === true ? "true" : undefined, limit: limit(v), cursor: str(v, "cursor") })}`,
      ),
  },
  {
    name: "costsim canary-run",
    usage: "costsim canary-run",
    summary:
      "Run the canary now (admin) and print its report; a failure disables V2; exit 1 with costsim.canary_running while another run holds the leadership",
    run: () => callApi("POST", `${API}/canary/run`, "{}"),
  },
  {
    name: "costsim canary-reports",
    usage: "costsim canary-reports [<report id>] [--limit N] [--cursor C]",
    summary: "Canary reports, newest first, or one whole (each dataset's checks, the replay's KL, drift and V2 errors)",
    options: { ...limitOption, cursor: { type: "string", description: "the next_cursor of the previous page" } },
    run: ({ positionals: [id], values: v }) =>
      id
        ? callApi("GET", `${API}/canary/reports/${encodeURIComponent(id)}`)
        : callApi("GET", `${API}/canary/reports${qs({ limit: limit(v), cursor: str(v, "cursor") })}`),
  },
  {
    name: "costsim divergence",
    usage: "costsim divergence [--since ISO] [--until ISO] [--skill S] [--tenant T] [--min-samples N]",
    summary:
      "The divergence report of V1 and V2 over the tenant's provenance (default: the last 7 days); insufficient_data below its minimum of samples",
    options: {
      since: { type: "string", description: "from this instant, inclusive" },
      until: { type: "string", description: "to this instant, exclusive" },
      skill: { type: "string", description: "only plans that call this skill" },
      tenant: { type: "string", description: "another tenant (slug or id): admin keys only" },
      "min-samples": { type: "string", description: "the report's minimum of samples" },
    },
    run: ({ values: v }) =>
      callApi(
        "GET",
        `${API}/divergence${qs({
          since: str(v, "since"),
          until: str(v, "until"),
          skill: str(v, "skill"),
          tenant_id: str(v, "tenant"),
          min_samples: str(v, "min-samples"),
        })}`,
      ),
  },
];
