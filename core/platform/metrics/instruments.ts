/**
 * The metrics API over one recorder: counters, histograms and gauges with prom-client's calling
 * conventions, the HTTP / queue / cron metrics every handler factory records, and flush.
 * index.ts binds it to the process's recorder; tests bind it to several. Rendering is not here on
 * purpose: see `renderMetrics` in index.ts.
 */
import type { Labels } from "./definitions.ts";
import { MetricsRecorder, type RecorderOptions } from "./recorder.ts";

export interface Counter {
  inc(labels?: Labels | number, value?: number): void;
}
export interface Histogram {
  observe(labels: Labels, value: number): void;
  /** Returns a function that observes the seconds elapsed since this call, and returns them. */
  startTimer(labels?: Labels): (endLabels?: Labels) => number;
}
export interface Gauge {
  set(labels: Labels, value: number): void;
}

const statusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;
const httpBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const jobBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];
const httpMetrics = ["aos_http_requests_total", "aos_http_errors_total", "aos_http_request_duration_seconds"];

export function createMetrics(recorderOrOptions: MetricsRecorder | RecorderOptions = {}) {
  const recorder =
    recorderOrOptions instanceof MetricsRecorder ? recorderOrOptions : new MetricsRecorder(recorderOrOptions);

  function counter(
    name: string,
    help: string,
    labelNames: readonly string[],
    opts?: { allow?: Record<string, readonly string[]> },
  ): Counter {
    const def = recorder.define("counter", name, help, labelNames, opts);
    return {
      inc(labels?: Labels | number, value?: number) {
        if (typeof labels === "number") recorder.inc(def, undefined, labels);
        else recorder.inc(def, labels, value ?? 1);
      },
    };
  }

  function histogram(
    name: string,
    help: string,
    labelNames: readonly string[],
    opts?: { buckets?: number[]; allow?: Record<string, readonly string[]> },
  ): Histogram {
    const def = recorder.define("histogram", name, help, labelNames, opts);
    return {
      observe: (labels, value) => recorder.observe(def, labels, value),
      startTimer(labels) {
        const start = process.hrtime.bigint();
        return (endLabels) => {
          const seconds = Number(process.hrtime.bigint() - start) / 1e9;
          recorder.observe(def, { ...labels, ...endLabels }, seconds);
          return seconds;
        };
      },
    };
  }

  function gauge(
    name: string,
    help: string,
    labelNames: readonly string[],
    opts?: { allow?: Record<string, readonly string[]> },
  ): Gauge {
    const def = recorder.define("gauge", name, help, labelNames, opts);
    return { set: (labels, value) => recorder.set(def, labels, value) };
  }

  // Built in, so every process renders their HELP/TYPE and the handler factories need no setup.
  const http = {
    requests: counter("aos_http_requests_total", "HTTP requests by route and status class", ["route", "status_class"], {
      allow: { status_class: statusClasses },
    }),
    errors: counter("aos_http_errors_total", "HTTP requests answered with a status >= 500", ["route"]),
    duration: histogram("aos_http_request_duration_seconds", "HTTP request duration", ["route"], {
      buckets: httpBuckets,
    }),
  };
  const queue = {
    records: counter("aos_queue_records_total", "Queue records by outcome", ["queue", "outcome"], {
      allow: { outcome: ["done", "retry", "permanent"] },
    }),
    duration: histogram("aos_queue_record_duration_seconds", "Time to process one queue record", ["queue"], {
      buckets: jobBuckets,
    }),
  };
  const cron = {
    runs: counter("aos_cron_runs_total", "Scheduled job runs by outcome", ["name", "outcome"], {
      allow: { outcome: ["ok", "error"] },
    }),
    duration: histogram("aos_cron_duration_seconds", "Scheduled job duration", ["name"], { buckets: jobBuckets }),
  };

  return {
    recorder,
    counter,
    histogram,
    gauge,

    /** Per-route request count (by status class), 5xx count and duration. `route` is the routeKey. */
    recordHttp(route: string, status: number, durationMs: number): void {
      const cls = `${Math.trunc(status / 100)}xx`;
      http.requests.inc({ route, status_class: cls });
      if (status >= 500) http.errors.inc({ route });
      http.duration.observe({ route }, durationMs / 1000);
    },

    recordQueue(queueName: string, outcome: "done" | "retry" | "permanent", durationMs: number): void {
      queue.records.inc({ queue: queueName, outcome });
      queue.duration.observe({ queue: queueName }, durationMs / 1000);
    },

    recordCron(name: string, outcome: "ok" | "error", durationMs: number): void {
      cron.runs.inc({ name, outcome });
      cron.duration.observe({ name }, durationMs / 1000);
    },

    /** See MetricsRecorder.allowLabelValues. */
    allowLabelValues(metric: string, label: string, values: readonly string[]): void {
      recorder.allowLabelValues(metric, label, values);
    },

    /**
     * Declare every route key (`GET /api/v1/keys/{id}`) so the `route` label of the HTTP metrics
     * keeps exactly those and maps anything else to `other`. Called by the handler factory with the
     * route table; without it the top-N guard still bounds the label.
     */
    allowRoutes(routeKeys: readonly string[]): void {
      for (const m of httpMetrics) recorder.allowLabelValues(m, "route", routeKeys);
    },

    flush: (): Promise<void> => recorder.flush(),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
