#!/usr/bin/env node
// Thin launcher for the bundled CLI (dist/haprov.mjs, made by `npm run build`).
import module from "node:module";

// A reader that closes the pipe early (`haprov render | head -1`) ends the process quietly.
for (const stream of [process.stdout, process.stderr])
  stream.on("error", (e) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
// Node >= 22.1 caches compiled code between runs; a no-op run is mostly start-up.
module.enableCompileCache?.();
const { main } = await import("../dist/haprov.mjs");
process.exitCode = await main(process.argv.slice(2));
