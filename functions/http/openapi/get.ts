import openapi from "../../../docs/openapi.json" with { type: "json" };
import { httpHandler } from "../../_lib/http.ts";

export const handler = httpHandler({}, async () => openapi);
