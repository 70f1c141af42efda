import * as Failures from "../../../core/failures/index.ts";
import { CatalogReply } from "../../../core/failures/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** Every entry of the failure catalog: category, severity, retry and recovery, match rules. */
export const handler = httpHandler({ response: CatalogReply }, () => Failures.catalogReply());
