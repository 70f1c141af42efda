import * as Failures from "../../../core/failures/index.ts";
import { FailureStats, FailureStatsQuery } from "../../../core/failures/index.ts";
import { httpHandler } from "../../_lib/http.ts";

export const handler = httpHandler({ query: FailureStatsQuery, response: FailureStats }, ({ query }) =>
  Failures.stats(query),
);
