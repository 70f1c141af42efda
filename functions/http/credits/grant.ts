import * as Credits from "../../../core/credits/index.ts";
import { CreditsReply, GrantBody } from "../../../core/credits/index.ts";
import { created, httpHandler } from "../../_lib/http.ts";

/** 201 with the tenant's live figures after the grant. */
export const handler = httpHandler(
  {
    body: GrantBody,
    response: CreditsReply,
    status: 201,
    description: "The credits were granted; the tenant's live balance, reserved and available credits",
    errors: { 404: "No tenant with that slug or id" },
  },
  async ({ body }) => created(await Credits.grant(body)),
);
