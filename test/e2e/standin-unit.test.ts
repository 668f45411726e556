import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { LAB_IMAGE } from "../../src/lab/host-options.js";
import { dockerAvailable } from "../helpers/lab.js";

// The stand-in's own unit tests (Python unittest) run in the test-host image, which has its
// interpreter, python3-yaml and openssl.
describe.runIf(dockerAvailable())("kubeadm stand-in unit tests", () => {
  it("pass inside the test-host image", () => {
    const r = spawnSync(
      "docker",
      [
        "run",
        "--rm",
        "-e",
        "PYTHONDONTWRITEBYTECODE=1",
        "-v",
        `${resolve("docker/testhost/standin")}:/s:ro`,
        "-w",
        "/s",
        LAB_IMAGE,
        "python3",
        "-m",
        "unittest",
        "discover",
        "-s",
        "tests",
        "-v",
      ],
      { encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    const ran = /Ran (\d+) tests/.exec(r.stderr);
    expect(Number(ran?.[1])).toBeGreaterThanOrEqual(25);
    expect(r.stderr).toMatch(/\nOK\n/);
  });
});
