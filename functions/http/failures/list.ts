import * as Failures from "../../../core/failures/index.ts";
import { FailureListQuery, FailureRecord } from "../../../core/failures/index.ts";
import { page } from "../../../core/platform/pagination.ts";
import { httpHandler } from "../../_lib/http.ts";

export const handler = httpHandler({ query: FailureListQuery, response: page(FailureRecord) }, ({ query }) =>
  Failures.list(query),
);
