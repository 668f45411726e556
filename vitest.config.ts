import { defineConfig } from "vitest/config";

// Two projects: `unit` is hermetic and fast; `e2e` talks to real sshd (and, later, real systemd
// hosts in Docker). `npm test` runs both; `npm run test:unit` / `test:e2e` run one.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Real hosts: files run one after another so they do not fight for the machine's 2 cores.
          fileParallelism: false,
          globalSetup: ["test/e2e/global-setup.ts"],
          // No registry here: testcontainers must not try to pull Ryuk or an alpine helper (LAB-NOTES.md).
          env: { TESTCONTAINERS_RYUK_DISABLED: "true", TESTCONTAINERS_HOST_OVERRIDE: "localhost" },
        },
      },
    ],
  },
});
