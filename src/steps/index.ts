import type { StepType } from "./step.js";
import { commandStep } from "./command.js";
import { fileStep } from "./file.js";
import { kernelModuleStep } from "./kernel-module.js";
import { packageStep } from "./package.js";
import { readStep } from "./read.js";
import { serviceStep } from "./service.js";
import { sysctlStep } from "./sysctl.js";
import { waitStep } from "./wait.js";

/** Every step type a playbook may name, keyed by its YAML key. */
export const STEP_TYPES: Record<string, StepType<never>> = Object.fromEntries(
  [packageStep, sysctlStep, fileStep, serviceStep, kernelModuleStep, commandStep, readStep, waitStep].map(
    (s) => [s.type, s as unknown as StepType<never>],
  ),
);
