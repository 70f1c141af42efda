import * as Tenancy from "../../../core/tenancy/index.ts";
import { CreatedKey, KeyCreate } from "../../../core/tenancy/index.ts";
import { created, httpHandler } from "../../_lib/http.ts";

export const handler = httpHandler({ body: KeyCreate, response: CreatedKey, status: 201 }, async ({ body }) =>
  created(await Tenancy.createKey(body)),
);
