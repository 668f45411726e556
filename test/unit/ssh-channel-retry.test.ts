/**
 * The transport's answer to sshd refusing a channel (a full session table): ask again with
 * backoff, and give up with the refusal after the last try. ssh2's Client is replaced by an
 * object that refuses the first N opens; the real transport is exercised in the e2e tests.
 */
import { EventEmitter } from "node:events";
import type { Client } from "ssh2";
import { describe, expect, it } from "vitest";
import type { TransportStats } from "../../src/core/transport.js";
import { SshConnection } from "../../src/transport/ssh-connection.js";

class RefusingClient extends EventEmitter {
  opens = 0;
  constructor(private readonly refusals: number) {
    super();
  }
  exec(_cmd: string, cb: (err: Error | undefined, stream?: unknown) => void): void {
    this.opens += 1;
    if (this.opens <= this.refusals) {
      queueMicrotask(() => cb(new Error("(SSH) Channel open failure: open failed")));
      return;
    }
    const stream = Object.assign(new EventEmitter(), {
      stderr: new EventEmitter(),
      writable: true,
      write: () => true,
      // the command answers once, and ends when its stdin does
      end: () => {
        setImmediate(() => {
          stream.emit("exit", 0);
          stream.emit("close");
        });
      },
      signal: () => undefined,
      close: () => undefined,
    });
    queueMicrotask(() => cb(undefined, stream));
    setImmediate(() => stream.emit("data", Buffer.from("hello\n")));
  }
}

const connection = (refusals: number) => {
  const client = new RefusingClient(refusals);
  const stats: TransportStats = { handshakes: 0, execs: 0, uploads: 0, channelRetries: 0 };
  return {
    client,
    stats,
    conn: new SshConnection("cp1", client as unknown as Client, "root", undefined, stats),
  };
};

describe("channel opens refused by sshd", () => {
  it("asks again and runs the command once a channel is granted", async () => {
    const { client, stats, conn } = connection(3);
    const res = await conn.exec("echo hello");
    expect(res).toMatchObject({ code: 0, stdout: "hello\n" });
    expect(client.opens).toBe(4);
    expect(stats.channelRetries).toBe(3);
  });

  it("gives the refusal back after the last try instead of waiting forever", async () => {
    const { client, stats, conn } = connection(100);
    const res = await conn.exec("echo hello");
    expect(res.code).toBeNull();
    expect(res.stderr).toMatch(/cannot open channel: \(SSH\) Channel open failure/);
    expect(client.opens).toBe(8);
    expect(stats.channelRetries).toBe(7);
  }, 15_000);

  it("a held command is retried the same way", async () => {
    const { client, conn } = connection(2);
    const held = await conn.hold("flock /run/x cat");
    expect(await held.firstLine).toBe("hello");
    expect(client.opens).toBe(3);
    await held.close();
  });
});
