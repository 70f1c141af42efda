import { describe, expect, it } from "vitest";
import { schedules } from "../../functions/routes.ts";
import { nextFire, parseSchedule, ScheduleError } from "../../local/schedule.ts";

const next = (expr: string, after: string) => nextFire(parseSchedule(expr), new Date(after))?.toISOString();

/** The next `n` fire times after `after`, each from the previous one. */
function series(expr: string, after: string, n: number): string[] {
  const spec = parseSchedule(expr);
  const out: string[] = [];
  let t = new Date(after);
  for (let i = 0; i < n; i++) {
    const f = nextFire(spec, t);
    if (!f) break;
    out.push(f.toISOString());
    t = f;
  }
  return out;
}

describe("rate()", () => {
  it("fires every period counted from the previous fire", () => {
    expect(series("rate(1 minute)", "2026-01-01T00:00:30Z", 2)).toEqual([
      "2026-01-01T00:01:30.000Z",
      "2026-01-01T00:02:30.000Z",
    ]);
    expect(next("rate(5 minutes)", "2026-01-01T00:00:00Z")).toBe("2026-01-01T00:05:00.000Z");
    expect(next("rate(2 hours)", "2026-01-01T00:00:00Z")).toBe("2026-01-01T02:00:00.000Z");
    expect(next("rate(1 day)", "2026-01-01T00:00:00Z")).toBe("2026-01-02T00:00:00.000Z");
  });

  it.each([
    "rate(1 minutes)",
    "rate(5 minute)",
    "rate(0 minutes)",
    "rate(-1 minutes)",
    "rate(1.5 hours)",
    "rate(1 week)",
    "rate(minutes)",
    "rate 1 minute",
  ])("refuses %s", (expr) => {
    expect(() => parseSchedule(expr)).toThrow(ScheduleError);
  });
});

describe("cron()", () => {
  it("daily at a fixed time", () => {
    expect(next("cron(0 3 * * ? *)", "2026-01-01T05:00:00Z")).toBe("2026-01-02T03:00:00.000Z");
    expect(next("cron(0 3 * * ? *)", "2026-01-01T02:59:59Z")).toBe("2026-01-01T03:00:00.000Z");
  });

  it("is strictly after the given instant", () => {
    expect(next("cron(0 3 * * ? *)", "2026-01-01T03:00:00Z")).toBe("2026-01-02T03:00:00.000Z");
    expect(next("cron(* * * * ? *)", "2026-01-01T03:00:00.500Z")).toBe("2026-01-01T03:01:00.000Z");
  });

  it("steps, lists and ranges", () => {
    expect(series("cron(0/15 * * * ? *)", "2026-01-01T00:07:00Z", 4)).toEqual([
      "2026-01-01T00:15:00.000Z",
      "2026-01-01T00:30:00.000Z",
      "2026-01-01T00:45:00.000Z",
      "2026-01-01T01:00:00.000Z",
    ]);
    expect(series("cron(*/20 8-9 * * ? *)", "2026-01-01T00:00:00Z", 7)).toEqual([
      "2026-01-01T08:00:00.000Z",
      "2026-01-01T08:20:00.000Z",
      "2026-01-01T08:40:00.000Z",
      "2026-01-01T09:00:00.000Z",
      "2026-01-01T09:20:00.000Z",
      "2026-01-01T09:40:00.000Z",
      "2026-01-02T08:00:00.000Z",
    ]);
    expect(series("cron(5,35 10-20/5 * * ? *)", "2026-01-01T00:00:00Z", 3)).toEqual([
      "2026-01-01T10:05:00.000Z",
      "2026-01-01T10:35:00.000Z",
      "2026-01-01T15:05:00.000Z",
    ]);
  });

  it("weekdays by name, with 1 = SUN", () => {
    // 2026-01-02 is a Friday.
    expect(series("cron(0 12 ? * MON-FRI *)", "2026-01-02T13:00:00Z", 2)).toEqual([
      "2026-01-05T12:00:00.000Z",
      "2026-01-06T12:00:00.000Z",
    ]);
    expect(next("cron(0 12 ? * 1 *)", "2026-01-02T13:00:00Z")).toBe("2026-01-04T12:00:00.000Z");
    expect(next("cron(0 12 ? * L *)", "2026-01-02T13:00:00Z")).toBe("2026-01-03T12:00:00.000Z");
  });

  it("months by name and a day of month", () => {
    expect(next("cron(30 6 15 MAR,OCT ? *)", "2026-04-01T00:00:00Z")).toBe("2026-10-15T06:30:00.000Z");
    // The 31st skips months that have none.
    expect(series("cron(0 0 31 * ? *)", "2026-01-31T00:00:00Z", 2)).toEqual([
      "2026-03-31T00:00:00.000Z",
      "2026-05-31T00:00:00.000Z",
    ]);
  });

  it("L: last day of the month, leap years included", () => {
    expect(series("cron(0 0 L * ? *)", "2028-01-31T00:00:00Z", 2)).toEqual([
      "2028-02-29T00:00:00.000Z",
      "2028-03-31T00:00:00.000Z",
    ]);
    expect(next("cron(0 0 L 2 ? *)", "2026-01-01T00:00:00Z")).toBe("2026-02-28T00:00:00.000Z");
  });

  it("nL and #: last Friday, first Monday", () => {
    expect(next("cron(0 10 ? * 6L *)", "2026-01-01T00:00:00Z")).toBe("2026-01-30T10:00:00.000Z");
    expect(next("cron(0 10 ? * FRIL *)", "2026-01-31T00:00:00Z")).toBe("2026-02-27T10:00:00.000Z");
    expect(next("cron(0 8 ? * 2#1 *)", "2026-01-06T00:00:00Z")).toBe("2026-02-02T08:00:00.000Z");
    expect(next("cron(0 8 ? * MON#3 *)", "2026-01-01T00:00:00Z")).toBe("2026-01-19T08:00:00.000Z");
  });

  it("years: waits for the first one, then stops", () => {
    expect(next("cron(0 0 1 1 ? 2030)", "2026-06-01T00:00:00Z")).toBe("2030-01-01T00:00:00.000Z");
    expect(next("cron(0 0 1 1 ? 2020-2025)", "2026-06-01T00:00:00Z")).toBeUndefined();
    // A date that never exists ends the search instead of looping forever.
    expect(next("cron(0 0 30 FEB ? *)", "2026-06-01T00:00:00Z")).toBeUndefined();
  });

  it.each([
    ["cron(0 3 * * * *)", /exactly one of day-of-month and day-of-week/],
    ["cron(0 3 ? * ? *)", /exactly one of day-of-month and day-of-week/],
    ["cron(0 3 * * ?)", /6 fields/],
    ["cron(60 3 * * ? *)", /minute "60"/],
    ["cron(0 24 * * ? *)", /hour "24"/],
    ["cron(0 3 0 * ? *)", /day-of-month "0"/],
    ["cron(0 3 * 13 ? *)", /month "13"/],
    ["cron(0 3 ? * 8 *)", /day-of-week "8"/],
    ["cron(0 3 ? * FOO *)", /FOO/],
    ["cron(0 3 * * ? 1969)", /year "1969"/],
    ["cron(0 5-3 * * ? *)", /backwards/],
    ["cron(0/0 3 * * ? *)", /bad step/],
    ["cron(0 3 15W * ? *)", /not supported/],
    ["cron(0 3 ? * 2#6 *)", /bad weekday|day-of-week/],
    ["every day", /expected rate/],
  ])("refuses %s", (expr, message) => {
    expect(() => parseSchedule(expr)).toThrow(message);
  });
});

describe("at()", () => {
  it("fires once, then never", () => {
    expect(next("at(2026-06-01T10:00:00)", "2026-01-01T00:00:00Z")).toBe("2026-06-01T10:00:00.000Z");
    expect(next("at(2026-06-01T10:00:00)", "2026-06-01T10:00:00Z")).toBeUndefined();
    expect(() => parseSchedule("at(2026-06-01)")).toThrow(ScheduleError);
  });
});

describe("the schedules of routes.ts", () => {
  it.each(schedules.map((s) => [s.name, s.schedule]))("%s (%s) parses and fires", (_name, expr) => {
    expect(nextFire(parseSchedule(expr), new Date())).toBeInstanceOf(Date);
  });
});
