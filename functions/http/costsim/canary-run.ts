import * as Costsim from "../../../core/costsim/index.ts";
import { CanaryReport, CanaryRunBody } from "../../../core/costsim/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** Admin: one canary run now, its report in the reply (409 while another run holds the leadership). */
export const handler = httpHandler(
  { body: CanaryRunBody, response: CanaryReport, errors: { 409: "Another canary run is under way (details name it)" } },
  () => Costsim.runCanary({ trigger: "api" }),
);
