import * as Skills from "../../../core/skills/index.ts";
import { WebhookSigningSecret } from "../../../core/skills/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The tenant's webhook signing secret, for its receivers to check X-AOS-Signature. */
export const handler = httpHandler({ response: WebhookSigningSecret }, async () => Skills.webhookSigningSecret());
