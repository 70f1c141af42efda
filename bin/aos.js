#!/usr/bin/env node
// The `aos` command. AOS is TypeScript run as-is (no build step): register tsx's loader, then
// hand over to cli/main.ts.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
