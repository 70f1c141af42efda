/** The credits domain's metrics. */
import { counter } from "../platform/metrics/index.ts";

export const creditMetrics = {
  reservations: counter("credit_reservation_total", "Credits reserved at job spawn", []),
  refunds: counter("credit_refund_total", "Credits refunded by cancellations", []),
  insufficient: counter("credit_insufficient_total", "Spawns refused for insufficient credits", []),
};
