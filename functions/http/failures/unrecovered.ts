import * as Failures from "../../../core/failures/index.ts";
import { FailureRecord, UnrecoveredQuery } from "../../../core/failures/index.ts";
import { page } from "../../../core/platform/pagination.ts";
import { httpHandler } from "../../_lib/http.ts";

export const handler = httpHandler({ query: UnrecoveredQuery, response: page(FailureRecord) }, ({ query }) =>
  Failures.unrecovered(query),
);
