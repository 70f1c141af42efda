import * as Tenancy from "../../../core/tenancy/index.ts";
import { ApiKey, KeyListQuery, page } from "../../../core/tenancy/index.ts";
import { httpHandler } from "../../_lib/http.ts";

export const handler = httpHandler({ query: KeyListQuery, response: page(ApiKey) }, ({ query }) =>
  Tenancy.listKeys(query),
);
