/**
 * The AlertDelivery worker: each record names one drift breaker alert (costsim_alert_queue) whose
 * current version some Alertmanager has not accepted; `Costsim.deliverAlert` POSTs it to every
 * URL of ALERTMANAGER_URL that lacks it and schedules a retry after a backoff when one refused.
 * Idempotent: a delivered or claimed alert makes the record a no-op.
 */
import * as Costsim from "../../core/costsim/index.ts";
import { AlertMessage } from "../../core/costsim/index.ts";
import { sqsBatchHandler } from "../_lib/sqs.ts";

export const handler = sqsBatchHandler({
  queue: Costsim.ALERT_QUEUE,
  schema: AlertMessage,
  handle: (msg) => Costsim.deliverAlert(msg),
});
