import * as Costsim from "../../../core/costsim/index.ts";
import { StatusReply } from "../../../core/costsim/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The V2 sandbox's status for the caller's tenant. */
export const handler = httpHandler({ response: StatusReply }, () => Costsim.status());
