import * as Skills from "../../../core/skills/index.ts";
import { BreakerList, BreakerListQuery } from "../../../core/skills/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The shared breakers and the tenant's own, with state, failures and cooldown. */
export const handler = httpHandler({ query: BreakerListQuery, response: BreakerList }, ({ query }) =>
  Skills.listBreakers(query),
);
