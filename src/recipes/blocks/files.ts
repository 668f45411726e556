import type { FileParams } from "../../steps/file.js";

/** A managed file's parameters with haprov's defaults: root-owned, 0644, shown in diffs. */
export function managedFile(
  path: string,
  content: string,
  o: {
    mode?: string;
    secret?: boolean;
    validate?: FileParams["validate"];
    encoding?: "utf8" | "base64";
  } = {},
): FileParams {
  return {
    path,
    content,
    mode: o.mode ?? "0644",
    owner: "root",
    group: "root",
    encoding: o.encoding ?? "utf8",
    secret: o.secret ?? false,
    ...(o.validate ? { validate: o.validate } : {}),
  };
}
