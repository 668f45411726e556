#!/usr/bin/env node
// Thin launcher for the bundled CLI (dist/haprov.mjs, made by `npm run build`).
import module from "node:module";

// Node >= 22.1 caches compiled code between runs; a no-op run is mostly start-up.
module.enableCompileCache?.();
const { main } = await import("../dist/haprov.mjs");
process.exitCode = await main(process.argv.slice(2));
