// Bundles the CLI into dist/haprov.mjs: one file loads in about half the time of ~60 modules plus
// their dependencies' (bench/RESULTS.md), and start-up is most of a no-op run. ssh2's optional native
// addons stay external (ssh2 falls back to JavaScript without them, as it does unbundled).
import { build } from "esbuild";

await build({
  entryPoints: ["src/cli/main.ts"],
  outfile: "dist/haprov.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["cpu-features", "*.node"],
  // CommonJS dependencies (ssh2) expect require, __filename and __dirname.
  banner: {
    js: [
      "import { createRequire as __haprovRequire } from 'node:module';",
      "import { fileURLToPath as __haprovPath } from 'node:url';",
      "import { dirname as __haprovDirname } from 'node:path';",
      "const require = __haprovRequire(import.meta.url);",
      "const __filename = __haprovPath(import.meta.url);",
      "const __dirname = __haprovDirname(__filename);",
    ].join(" "),
  },
  logLevel: "error",
  sourcemap: true,
});
