import * as Tenancy from "../../../core/tenancy/index.ts";
import { page, Tenant, TenantListQuery } from "../../../core/tenancy/index.ts";
import { httpHandler } from "../../_lib/http.ts";

export const handler = httpHandler({ query: TenantListQuery, response: page(Tenant) }, ({ query }) =>
  Tenancy.listTenants(query),
);
