import { haprov } from "../helpers/haprov-cli.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailable, startLab, type Lab } from "../helpers/lab.js";

// A jump host on two networks. The proof that haprov went through it: each target's sshd logs the
// login as coming from the bastion's lab address, not from this machine's bridge gateway.
describe.runIf(dockerAvailable())("ssh.bastion (forwardOut through a jump host)", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab({ hosts: 2, bastion: true });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it("reaches every host through the bastion, with strict host keys for both hops", async () => {
    const b = lab.bastion!;
    const inv = lab.inventory({ ssh: `bastion: { address: ${b.outerAddress}, user: root }` });
    const r = await haprov(["status", "-i", inv, "--playbook", "prepare", "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const h of lab.hosts) {
      const log = await lab.exec(
        h.name,
        "journalctl -u ssh --no-pager -o cat | grep 'Accepted publickey for root'",
      );
      expect(log.output).toContain(`from ${b.address} port`);
    }
    const jump = await b.container.exec([
      "sh",
      "-c",
      "journalctl -u ssh --no-pager -o cat | grep -c 'Accepted publickey for root'",
    ]);
    expect(Number(jump.output.trim())).toBe(1); // one connection to the bastion, shared by both hosts
  });
});
