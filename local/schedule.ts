/**
 * EventBridge schedule expressions, parsed and stepped in UTC: `rate(5 minutes)`,
 * `cron(min hour day-of-month month day-of-week year)` and the one-time `at(2026-06-01T10:00:00)`
 * of EventBridge Scheduler (what `sst.aws.CronV2` deploys).
 *
 * Cron follows the EventBridge rules, stricter than Unix cron: six fields; day-of-week counts
 * 1 = SUN .. 7 = SAT; exactly one of day-of-month and day-of-week is `?`; `L` (last day of the
 * month, or `5L` = last Thursday) and `#` (`2#1` = first Monday) are supported. `W` is not: it is
 * refused with a message rather than silently mis-scheduled.
 *
 * @example
 *   const s = parseSchedule("cron(0 3 * * ? *)");
 *   nextFire(s, new Date("2026-01-01T05:00:00Z")); // 2026-01-02T03:00:00.000Z
 */

export class ScheduleError extends Error {
  override name = "ScheduleError";
}

interface CronFields {
  minutes: Set<number>;
  hours: Set<number>;
  /** undefined when the field is `?`. */
  daysOfMonth?: { days: Set<number>; last: boolean };
  months: Set<number>;
  /** undefined when the field is `?`. `nth`: [weekday, n]; `last`: weekdays whose last occurrence counts. */
  daysOfWeek?: { days: Set<number>; last: Set<number>; nth: [number, number][] };
  years: Set<number>;
}

export type ScheduleSpec =
  | { kind: "rate"; expression: string; everyMs: number }
  | { kind: "cron"; expression: string; fields: CronFields }
  | { kind: "at"; expression: string; at: Date };

const UNITS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MIN_YEAR = 1970;
const MAX_YEAR = 2199;

export function parseSchedule(expression: string): ScheduleSpec {
  const m = /^(rate|cron|at)\((.*)\)$/.exec(expression.trim());
  if (!m?.[1] || m[2] === undefined) {
    throw new ScheduleError(`"${expression}": expected rate(...), cron(...) or at(...)`);
  }
  const body = m[2].trim();
  if (m[1] === "rate") return { kind: "rate", expression, everyMs: parseRate(expression, body) };
  if (m[1] === "at") return { kind: "at", expression, at: parseAt(expression, body) };
  return { kind: "cron", expression, fields: parseCron(expression, body) };
}

function parseRate(expression: string, body: string): number {
  const m = /^(\d+)\s+(minute|minutes|hour|hours|day|days)$/.exec(body);
  if (!m?.[1] || !m[2]) throw new ScheduleError(`"${expression}": expected rate(N minute|minutes|hour|hours|day|days)`);
  const n = Number(m[1]);
  const unit = m[2].replace(/s$/, "");
  if (n < 1) throw new ScheduleError(`"${expression}": the value must be a positive integer`);
  // EventBridge refuses "rate(1 minutes)" and "rate(5 minute)"; so do we, so it fails here first.
  if ((n === 1) !== (m[2] === unit)) {
    throw new ScheduleError(`"${expression}": use "${n} ${n === 1 ? unit : `${unit}s`}"`);
  }
  return n * (UNITS[unit] as number);
}

function parseAt(expression: string, body: string): Date {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(body)) {
    throw new ScheduleError(`"${expression}": expected at(yyyy-mm-ddThh:mm:ss)`);
  }
  const at = new Date(`${body}Z`);
  if (Number.isNaN(at.getTime())) throw new ScheduleError(`"${expression}": not a valid date`);
  return at;
}

function parseCron(expression: string, body: string): CronFields {
  const parts = body.split(/\s+/);
  if (parts.length !== 6) {
    throw new ScheduleError(`"${expression}": cron needs 6 fields (minute hour day-of-month month day-of-week year)`);
  }
  const [min, hour, dom, month, dow, year] = parts as [string, string, string, string, string, string];
  if ((dom === "?") === (dow === "?")) {
    throw new ScheduleError(`"${expression}": exactly one of day-of-month and day-of-week must be "?"`);
  }
  const field = (name: string, text: string, lo: number, hi: number, names?: string[]) => {
    try {
      return parseList(text, lo, hi, names);
    } catch (e) {
      throw new ScheduleError(`"${expression}": ${name} "${text}": ${(e as Error).message}`);
    }
  };
  const fields: CronFields = {
    minutes: field("minute", min, 0, 59),
    hours: field("hour", hour, 0, 23),
    months: field("month", month, 1, 12, MONTHS),
    years: field("year", year, MIN_YEAR, MAX_YEAR),
  };
  if (dom !== "?") {
    if (/W/i.test(dom)) throw new ScheduleError(`"${expression}": "W" (nearest weekday) is not supported locally`);
    const last = dom.split(",").includes("L");
    const rest = dom
      .split(",")
      .filter((p) => p !== "L")
      .join(",");
    fields.daysOfMonth = { days: rest ? field("day-of-month", rest, 1, 31) : new Set(), last };
  }
  if (dow !== "?") {
    const spec = { days: new Set<number>(), last: new Set<number>(), nth: [] as [number, number][] };
    for (const part of dow.split(",")) {
      const lastOf = /^(\w+)L$/i.exec(part);
      const nth = /^(\w+)#([1-5])$/.exec(part);
      // Alone, L is the last day of the week: SAT.
      if (part.toUpperCase() === "L") spec.days.add(7);
      else if (lastOf?.[1]) spec.last.add(weekday(expression, lastOf[1]));
      else if (nth?.[1] && nth[2]) spec.nth.push([weekday(expression, nth[1]), Number(nth[2])]);
      else for (const d of field("day-of-week", part, 1, 7, WEEKDAYS)) spec.days.add(d);
    }
    fields.daysOfWeek = spec;
  }
  return fields;
}

function weekday(expression: string, text: string): number {
  const i = WEEKDAYS.indexOf(text.toUpperCase());
  const n = i >= 0 ? i + 1 : Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 7) throw new ScheduleError(`"${expression}": bad weekday "${text}"`);
  return n;
}

/** `*`, `a`, `a-b`, `*\/s`, `a/s`, `a-b/s`, comma-separated; names (JAN, MON) where given. */
function parseList(text: string, lo: number, hi: number, names?: string[]): Set<number> {
  const out = new Set<number>();
  const value = (t: string): number => {
    const i = names ? names.indexOf(t.toUpperCase()) : -1;
    const n = i >= 0 ? i + 1 : /^\d+$/.test(t) ? Number(t) : Number.NaN;
    if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`"${t}" is not in ${lo}-${hi}`);
    return n;
  };
  for (const item of text.split(",")) {
    const [range, stepText] = item.split("/") as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`bad step "${stepText}"`);
    let from: number;
    let to: number;
    if (range === "*") [from, to] = [lo, hi];
    else if (range.includes("-")) {
      const [a, b] = range.split("-") as [string, string];
      [from, to] = [value(a), value(b)];
      if (from > to) throw new Error(`range "${range}" runs backwards`);
    } else {
      from = value(range);
      to = stepText === undefined ? from : hi;
    }
    for (let n = from; n <= to; n += step) out.add(n);
  }
  return out;
}

const daysInMonth = (y: number, m0: number) => new Date(Date.UTC(y, m0 + 1, 0)).getUTCDate();

function dayMatches(f: CronFields, t: Date): boolean {
  const y = t.getUTCFullYear();
  const m0 = t.getUTCMonth();
  const d = t.getUTCDate();
  const dim = daysInMonth(y, m0);
  if (f.daysOfMonth) return f.daysOfMonth.days.has(d) || (f.daysOfMonth.last && d === dim);
  const w = f.daysOfWeek;
  if (!w) return false;
  const wd = t.getUTCDay() + 1;
  if (w.days.has(wd)) return true;
  if (w.last.has(wd) && d + 7 > dim) return true;
  return w.nth.some(([day, n]) => day === wd && Math.ceil(d / 7) === n);
}

/**
 * The first fire time strictly after `after`, or undefined when there is none (an `at` in the
 * past, a cron whose years are over). A rate fires every period counted from `after`, so the
 * caller passes the previous fire time (or the start) to keep the cadence.
 */
export function nextFire(spec: ScheduleSpec, after: Date): Date | undefined {
  if (spec.kind === "rate") return new Date(after.getTime() + spec.everyMs);
  if (spec.kind === "at") return spec.at.getTime() > after.getTime() ? spec.at : undefined;
  const f = spec.fields;
  const t = new Date(Math.floor(after.getTime() / 60_000) * 60_000 + 60_000);
  while (t.getUTCFullYear() <= MAX_YEAR) {
    const y = t.getUTCFullYear();
    if (!f.years.has(y)) {
      const next = [...f.years].filter((v) => v > y).sort((a, b) => a - b)[0];
      if (next === undefined) return undefined;
      t.setTime(Date.UTC(next, 0, 1));
    } else if (!f.months.has(t.getUTCMonth() + 1)) {
      t.setTime(Date.UTC(y, t.getUTCMonth() + 1, 1));
    } else if (!dayMatches(f, t)) {
      t.setTime(Date.UTC(y, t.getUTCMonth(), t.getUTCDate() + 1));
    } else if (!f.hours.has(t.getUTCHours())) {
      t.setTime(Date.UTC(y, t.getUTCMonth(), t.getUTCDate(), t.getUTCHours() + 1));
    } else if (!f.minutes.has(t.getUTCMinutes())) {
      t.setTime(t.getTime() + 60_000);
    } else {
      return t;
    }
  }
  return undefined;
}
