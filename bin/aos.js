#!/usr/bin/env node
// The `aos` command. AOS is TypeScript run as-is (no build step): register tsx's loader, then
// hand over to cli/main.ts.
import { register } from "tsx/esm/api";

// The pinned AWS SDK (3.1169.0, the last line that runs on the machines' Node 20) warns on every
// start that releases after January 2027 need Node 22; Lambda runs nodejs22.x. Known, so quiet.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

register();
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
