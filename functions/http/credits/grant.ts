import * as Credits from "../../../core/credits/index.ts";
import { CreditsReply, GrantBody } from "../../../core/credits/index.ts";
import * as Idempotency from "../../../core/platform/idempotency/index.ts";
import { HttpReply, httpHandler } from "../../_lib/http.ts";

/** 201 with the tenant's live figures after the grant; with an Idempotency-Key, a retry grants nothing twice. */
export const handler = httpHandler(
  {
    body: GrantBody,
    response: CreditsReply,
    status: 201,
    idempotent: true,
    description:
      "The credits were granted; the tenant's live balance, reserved and available credits (for a repeated Idempotency-Key, the first grant's figures)",
    errors: {
      404: "No tenant with that slug or id",
      409: "idempotency.key_reused: the Idempotency-Key was used with another body",
    },
  },
  async ({ body, headers }) => {
    const { reply, replayed } = await Credits.grantOnce(body, Idempotency.keyFrom(headers));
    return new HttpReply(201, reply, Idempotency.replayHeaders(replayed));
  },
);
