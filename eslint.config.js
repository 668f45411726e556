// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * Import boundaries from STYLE.md, kept by lint rather than memory:
 *   cli → recipes/playbook → steps → os → facts → core;  cli → engine → core;  cli → transport → core;  config → core.
 * Steps, facts and recipes never import the engine or the transport, so a step cannot run a command.
 */
const boundary = (files, forbidden, why) => ({
  files,
  rules: {
    "no-restricted-imports": [
      "error",
      { patterns: forbidden.map((group) => ({ group: [group], message: why })) },
    ],
  },
});

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": "error",
    },
  },
  boundary(
    ["src/core/**"],
    [
      "**/config/**",
      "**/facts/**",
      "**/os/**",
      "**/steps/**",
      "**/recipes/**",
      "**/engine/**",
      "**/transport/**",
      "**/cli/**",
      "**/playbook/**",
      "ssh2",
      "listr2",
      "commander",
    ],
    "core depends on nothing else in haprov",
  ),
  boundary(
    ["src/facts/**", "src/os/**", "src/steps/**", "src/recipes/**"],
    ["**/engine/**", "**/transport/**", "**/cli/**", "ssh2", "listr2", "commander"],
    "steps plan; only the engine acts (STYLE.md habit 1)",
  ),
  boundary(
    ["src/engine/**"],
    [
      "**/transport/**",
      "**/cli/**",
      "**/config/**",
      "**/steps/**",
      "**/recipes/**",
      "ssh2",
      "listr2",
      "commander",
    ],
    "the engine receives a transport; it never imports one",
  ),
  boundary(
    ["src/transport/**"],
    ["**/engine/**", "**/cli/**", "**/steps/**", "**/recipes/**", "listr2", "commander"],
    "the transport knows nothing of steps or output",
  ),
  boundary(
    ["src/config/**"],
    ["**/engine/**", "**/transport/**", "**/cli/**", "**/steps/**", "ssh2", "listr2"],
    "config depends on core only",
  ),
  boundary(
    ["src/playbook/**"],
    [
      "**/transport/**",
      "**/cli/**",
      "**/engine/run*",
      "**/engine/host-phase*",
      "ssh2",
      "listr2",
      "commander",
    ],
    "playbooks compile to data; they run nothing",
  ),
  boundary(["src/cli/**"], ["ssh2"], "only src/transport imports ssh2"),
  {
    files: ["bin/**"],
    languageOptions: { globals: { process: "readonly" } },
  },
  {
    files: ["test/**", "bench/**", "*.config.*", "bin/**"],
    rules: { "no-console": "off", "@typescript-eslint/no-non-null-assertion": "off" },
  },
);
