import * as Credits from "../../../core/credits/index.ts";
import { LedgerEntry, LedgerQuery } from "../../../core/credits/index.ts";
import { page } from "../../../core/platform/pagination.ts";
import { httpHandler } from "../../_lib/http.ts";

export const handler = httpHandler({ query: LedgerQuery, response: page(LedgerEntry) }, ({ query }) =>
  Credits.ledger(query),
);
