import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A throwaway EC CA certificate (PEM, base64-encoded as a gather carries it), made with openssl. */
export function testCaBase64(): string {
  const dir = mkdtempSync(join(tmpdir(), "haprov-test-ca-"));
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        join(dir, "k"),
        "-out",
        join(dir, "c"),
        "-subj",
        "/CN=kubernetes",
        "-days",
        "1",
      ],
      { stdio: "ignore" },
    );
    return readFileSync(join(dir, "c")).toString("base64");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
