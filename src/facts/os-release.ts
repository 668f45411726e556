import type { Fact } from "../core/fact.js";

export interface OsRelease {
  id: string;
  idLike: string[];
  versionId: string;
  prettyName: string;
}

export const osRelease: Fact<OsRelease> = {
  key: "os-release",
  script: "cat /etc/os-release",
  parse(out) {
    const kv = new Map<string, string>();
    for (const line of out.split("\n")) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m) kv.set(m[1]!, m[2]!.replace(/^["']|["']$/g, ""));
    }
    return {
      id: kv.get("ID") ?? "unknown",
      idLike: (kv.get("ID_LIKE") ?? "").split(/\s+/).filter(Boolean),
      versionId: kv.get("VERSION_ID") ?? "",
      prettyName: kv.get("PRETTY_NAME") ?? kv.get("ID") ?? "unknown",
    };
  },
};
