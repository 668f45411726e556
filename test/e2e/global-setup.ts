import { execFileSync } from "node:child_process";
import { leftovers, TEST_LABEL } from "../helpers/lab.js";

/** After the e2e suite: no test container or network may be left behind. Removes any, then fails. */
export default function setup(): () => void {
  return () => {
    let hasDocker = true;
    try {
      execFileSync("docker", ["info"], { stdio: "ignore" });
    } catch {
      hasDocker = false;
    }
    if (!hasDocker) return;
    const left = leftovers();
    if (left.length === 0) return;
    for (const kind of ["ps -aq", "network ls -q"]) {
      const ids = execFileSync("docker", [...kind.split(" "), "--filter", `label=${TEST_LABEL}`], {
        encoding: "utf8",
      })
        .split("\n")
        .filter(Boolean);
      if (ids.length)
        execFileSync("docker", kind.startsWith("ps") ? ["rm", "-f", ...ids] : ["network", "rm", ...ids]);
    }
    throw new Error(`e2e tests left Docker resources behind (now removed): ${left.join(", ")}`);
  };
}
