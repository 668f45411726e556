import type {
  ExecOptions,
  ExecResult,
  HeldCommand,
  HostConnection,
  WriteFileOptions,
} from "../../src/core/transport.js";
import { STATE_ROOT } from "../../src/engine/pending.js";

/**
 * In-memory host for unit tests of pure engine logic (no shell). It answers fact batches built by
 * engine/fact-batch.ts by asking `answer(script)` for each fact, keeps a key/value `state` that the
 * test steps read and write with `FACT k` / `SET k v` (`TEST k` exits 0 when k is set), and models
 * the pending-handler directory.
 */
export class FakeHost implements HostConnection {
  readonly isRoot = true;
  readonly state = new Map<string, string>();
  readonly files = new Map<string, Buffer>();
  readonly pending = new Set<string>();
  /** Every non-batch command, in order, with a global sequence number. */
  readonly commands: { seq: number; cmd: string }[] = [];
  batches = 0;
  closed = false;
  failOn: RegExp | undefined;
  delayMs = 0;

  constructor(
    readonly host: string,
    private readonly clock: { seq: number },
  ) {
    this.machine = { id: `mid-${host}`, lockedBy: undefined };
  }

  async exec(raw: string, _o?: ExecOptions): Promise<ExecResult> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    // "( CMD\n) && REST", as the engine wraps a handler: the same as "CMD && REST" here
    const cmd = raw.replace(/^\( ([\s\S]*)\n\) && /, "$1 && ");
    if (cmd.includes("@@haprov-")) {
      this.batches += 1;
      return ok(this.answerBatch(cmd));
    }
    this.commands.push({ seq: ++this.clock.seq, cmd });
    if (this.failOn?.test(cmd)) return { code: 1, stdout: "", stderr: `boom: ${cmd}`, durationMs: 0 };
    const set = /^SET (\S+) (.*)$/.exec(cmd);
    if (set) this.state.set(set[1]!, set[2]!);
    const test = /^TEST (\S+)$/.exec(cmd);
    if (test) return this.state.has(test[1]!) ? ok("") : { code: 1, stdout: "", stderr: "", durationMs: 0 };
    const echo = /^ECHO (.*)$/.exec(cmd);
    if (echo) return ok(`${echo[1]}\n`);
    if (cmd.startsWith(`mkdir -p ${STATE_ROOT}/`) && cmd.includes("/pending-handlers && touch ")) {
      for (const f of cmd.split(" touch ")[1]!.split(" ")) this.pending.add(f.split("/").pop()!);
    }
    const rm = new RegExp(`rm -f ${STATE_ROOT}/\\S+/pending-handlers/(\\S+)`).exec(cmd);
    if (rm) this.pending.delete(rm[1]!);
    return ok("");
  }

  async writeFileAtomic(path: string, content: Buffer, _o: WriteFileOptions): Promise<void> {
    this.commands.push({ seq: ++this.clock.seq, cmd: `WRITE ${path}` });
    this.files.set(path, content);
  }

  /**
   * The machine this host is (its lock file and /etc/machine-id): two FakeHosts given the same
   * machine are two inventory hosts on one machine.
   */
  machine: { id: string; lockedBy: string | undefined };
  get lockedBy(): string | undefined {
    return this.machine.lockedBy;
  }
  /** The run lock as a host would hold it: one holder at a time, given back on close. */
  async hold(cmd: string): Promise<HeldCommand> {
    const holder = /'(\{[^']*\})'$/.exec(cmd)?.[1] ?? "{}";
    const m = this.machine;
    const mine = m.lockedBy === undefined;
    const out = mine ? `LOCKED ${m.id}\n` : `BUSY ${m.id}\n${m.lockedBy}\n`;
    if (mine) m.lockedBy = holder;
    return {
      firstLine: Promise.resolve(out.split("\n")[0]!),
      output: () => out,
      write: () => undefined,
      close: async () => {
        if (mine) m.lockedBy = undefined;
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private answerBatch(script: string): string {
    const re =
      /printf '\\n%s\\n' '(@@haprov-(\w+)-\d+-begin)'\n\( ([\s\S]*?)\n\)\nprintf '\\n@@haprov-\w+-end %d\\n' "\$\?"/g;
    let out = "";
    for (const m of script.matchAll(re)) {
      const [, begin, nonce, fact] = m;
      const { stdout, code } = this.answer(fact!);
      out += `\n${begin}\n${stdout}\n@@haprov-${nonce}-end ${code}\n`;
    }
    return out;
  }

  private answer(fact: string): { stdout: string; code: number } {
    const f = /^FACT (\S+)$/.exec(fact);
    if (f)
      return this.state.has(f[1]!)
        ? { stdout: `${this.state.get(f[1]!)}\n`, code: 0 }
        : { stdout: "", code: 1 };
    if (fact.startsWith(`ls -1 ${STATE_ROOT}/`))
      return { stdout: [...this.pending].join("\n"), code: this.pending.size ? 0 : 2 };
    throw new Error(`FakeHost: no answer for fact script ${fact}`);
  }
}

function ok(stdout: string): ExecResult {
  return { code: 0, stdout, stderr: "", durationMs: 0 };
}
