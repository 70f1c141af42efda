import * as Costsim from "../../../core/costsim/index.ts";
import { CanaryReport, CanaryReportPath } from "../../../core/costsim/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** One canary report. */
export const handler = httpHandler(
  { path: CanaryReportPath, response: CanaryReport, errors: { 404: "No canary report has this id" } },
  ({ path }) => Costsim.getCanaryReport(path.id),
);
