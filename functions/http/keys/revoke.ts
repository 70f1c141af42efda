import { ApiKey, KeyIdPath, KeyRevokeQuery, Tenancy } from "../../../core/tenancy/index.ts";
import { httpHandler } from "../../_lib/http.ts";

export const handler = httpHandler({ path: KeyIdPath, query: KeyRevokeQuery, response: ApiKey }, ({ path, query }) =>
  Tenancy.revokeKey(path.id, query.tenant),
);
