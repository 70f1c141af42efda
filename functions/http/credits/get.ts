import * as Credits from "../../../core/credits/index.ts";
import { CreditsQuery, CreditsReply } from "../../../core/credits/index.ts";
import { httpHandler } from "../../_lib/http.ts";

export const handler = httpHandler({ query: CreditsQuery, response: CreditsReply }, ({ query }) =>
  Credits.balance(query),
);
