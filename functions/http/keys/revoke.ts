import * as Tenancy from "../../../core/tenancy/index.ts";
import { ApiKey, KeyIdPath, KeyRevokeQuery } from "../../../core/tenancy/index.ts";
import { httpHandler } from "../../_lib/http.ts";

export const handler = httpHandler({ path: KeyIdPath, query: KeyRevokeQuery, response: ApiKey }, ({ path, query }) =>
  Tenancy.revokeKey(path.id, query.tenant),
);
