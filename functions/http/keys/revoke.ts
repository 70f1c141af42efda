import { z } from "zod";
import { ApiKey, KeyIdPath, Tenancy } from "../../../core/tenancy/index.ts";
import { httpHandler } from "../../_lib/http.ts";

const Query = z.object({ tenant: z.string().min(1).max(63).optional() });

export const handler = httpHandler({ path: KeyIdPath, query: Query, response: ApiKey }, ({ path, query }) =>
  Tenancy.revokeKey(path.id, query.tenant),
);
