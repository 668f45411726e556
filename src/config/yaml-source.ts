import { readFile } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from "yaml";
import type { InputIssue, SourceLocation } from "../core/errors.js";

/**
 * A parsed YAML file that can answer "where is field X?" with line and column, so every
 * validation error names file:line:col (issue #2, item 3).
 */
export class YamlSource {
  private constructor(
    readonly file: string,
    readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  static parse(file: string, text: string): { source: YamlSource; issues: InputIssue[] } {
    const lines = new LineCounter();
    const doc = parseDocument(text, {
      lineCounter: lines,
      prettyErrors: false,
      uniqueKeys: true,
      customTags: [{ tag: "!secret", identify: () => false, resolve: (s: string) => s }],
    });
    const source = new YamlSource(file, doc, lines);
    const issues: InputIssue[] = [...doc.errors, ...doc.warnings].map((e) => ({
      location: source.at(e.pos[0]),
      path: "",
      message: e.message.split("\n")[0] ?? e.message,
      severity: doc.errors.includes(e as never) ? "error" : "warning",
    }));
    return { source, issues };
  }

  /** `display` is the name used in messages (usually relative to the working directory). */
  static async read(file: string, display = file): Promise<{ source: YamlSource; issues: InputIssue[] }> {
    return YamlSource.parse(display, await readFile(file, "utf8"));
  }

  at(offset: number): SourceLocation {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, col };
  }

  /**
   * Location of the node at `path`, or of its deepest existing ancestor. With `key`, the location
   * of that key inside the mapping at `path` (for "unknown key" errors).
   */
  locate(path: readonly PropertyKey[], key?: string): SourceLocation {
    let node: Node | null | undefined = this.doc.contents as Node | null;
    let best: Node | null | undefined = node;
    for (const seg of path) {
      const next = child(node, seg);
      if (!next) break;
      node = next.value ?? next.key;
      best = node;
    }
    if (key !== undefined) {
      const pair = child(best, key);
      if (pair?.key?.range) return this.at(pair.key.range[0]);
    }
    return this.at(best?.range?.[0] ?? 0);
  }

  /**
   * Replaces `${NAME}` (and `${NAME:-default}`) in every scalar with the environment's value and
   * collects the values of scalars tagged `!secret` or filled from the environment into secret
   * fields. `$${` writes a literal `${`.
   */
  interpolate(env: NodeJS.ProcessEnv): {
    issues: InputIssue[];
    tagged: string[];
  } {
    const issues: InputIssue[] = [];
    const tagged: string[] = [];
    visit(this.doc, {
      Scalar: (_key, node) => {
        if (typeof node.value === "string" && node.value.includes("$")) {
          node.value = node.value.replace(
            /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
            (whole, escape: string, name: string, fallback: string | undefined) => {
              if (escape) return whole.slice(1);
              const v = env[name] ?? fallback;
              if (v === undefined) {
                issues.push({
                  location: this.at(node.range?.[0] ?? 0),
                  path: "",
                  message: `environment variable ${name} is not set (write \${${name}:-default} for a default)`,
                  severity: "error",
                });
                return "";
              }
              return v;
            },
          );
        }
        if (node.tag === "!secret" && typeof node.value === "string") tagged.push(node.value);
      },
    });
    return { issues, tagged };
  }

  toJS(): unknown {
    return this.doc.toJS();
  }
}

function child(node: unknown, seg: PropertyKey): { key: Node | null; value: Node | null } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
    return pair ? { key: pair.key as Node | null, value: pair.value as Node | null } : undefined;
  }
  if (isSeq(node) && typeof seg === "number") {
    const item = node.items[seg] as Node | undefined;
    return item ? { key: null, value: item } : undefined;
  }
  return undefined;
}

/** A file name for messages: relative to cwd when inside it, absolute otherwise. */
export function displayPath(cwd: string, file: string): string {
  const rel = relative(cwd, file);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : resolve(cwd, file);
}

/** `hosts[1].address` */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((seg, i) => (typeof seg === "number" ? `[${seg}]` : `${i === 0 ? "" : "."}${String(seg)}`))
    .join("");
}
