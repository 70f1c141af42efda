/** `aos load-test`'s flags, checked: the run's plan, or every problem at once (exit 2, nothing sent). */
import { config } from "../../core/config.ts";
import { CliError } from "./load-test-drivers.ts";

type Values = Record<string, string | boolean | undefined>;

export interface Plan {
  items: number;
  workers: number;
  timeoutS: number;
  cost: number;
  leaseS: number;
  batch: number;
  json: boolean;
  inProcess: boolean;
  url: string;
  key: string | undefined;
}

/** Flags -> plan, or every problem at once (exit 2, nothing sent). */
export function plan(v: Values): Plan {
  const problems: string[] = [];
  const num = (flag: string, def: number, min: number, max: number, decimals = 0): number => {
    const raw = v[flag];
    const n = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw === undefined ? def : Number.NaN;
    const scaled = n * 10 ** decimals;
    if (!Number.isFinite(n) || Math.abs(scaled - Math.round(scaled)) > 1e-9 || n < min || n > max) {
      problems.push(
        `--${flag}: ${decimals ? `a number with at most ${decimals} decimals` : "a whole number"} from ${min} to ${max}`,
      );
    }
    return n;
  };
  const p: Plan = {
    // A job holds at most 10,000 items (the spawn API's limit).
    items: num("items", 1000, 1, 10_000),
    workers: num("workers", 50, 1, 1000),
    timeoutS: num("timeout", 300, 1, 86_400),
    cost: num("credits-per-item", 1, 0, 1_000_000, 4),
    leaseS: num("lease-s", 30, 1, 3600),
    batch: num("batch", 1, 1, 100),
    json: v.json === true,
    inProcess: v["in-process"] === true,
    url: typeof v.url === "string" ? v.url : config().cli.url,
    key: typeof v.key === "string" ? v.key : config().cli.key,
  };
  if (p.inProcess && (v.url !== undefined || v.key !== undefined)) {
    problems.push("--in-process runs through core on DATABASE_URL: --url and --key do not apply");
  }
  if (!p.inProcess && !/^https?:\/\/[^/]/.test(p.url)) problems.push(`--url: an http(s) URL, not "${p.url}"`);
  if (problems.length) throw new CliError(problems, 2);
  return p;
}
