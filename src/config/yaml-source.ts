import { readFile } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import {
  isAlias,
  isCollection,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
  type YAMLError,
} from "yaml";
import type { InputIssue, SourceLocation } from "../core/errors.js";
import { MIN_SECRET_LENGTH } from "./formats.js";

/**
 * A parsed YAML file that can answer "where is field X?" with line and column, so every
 * validation error names file:line:col (issue #2, item 3).
 */
export class YamlSource {
  /** Scalars whose value came (at least in part) from the environment. */
  private readonly fromEnv = new Set<Node>();
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
      path: formatPath(source.pathAt(e.pos[0])),
      message: yamlMessage(e),
      severity: doc.errors.includes(e as never) ? "error" : "warning",
    }));
    if (!issues.some((i) => i.severity === "error")) issues.push(...source.structureIssues());
    return { source, issues };
  }

  /**
   * What YAML allows but haprov refuses: keys that would reach an object's prototype (a
   * `__proto__:` key changes the settings of every host), nesting deeper than any inventory or
   * playbook needs, and `!secret` on a mapping or a list (only a single value can be masked).
   */
  private structureIssues(): InputIssue[] {
    const issues: InputIssue[] = [];
    const refuse = (node: Node | null | undefined, message: string) =>
      issues.push({
        location: this.at(node?.range?.[0] ?? 0),
        path: formatPath(this.pathAt(node?.range?.[0] ?? 0)),
        message,
        severity: "error",
      });
    const anchors = new Set<string>();
    const walk = (node: unknown, depth: number): void => {
      if (isAlias(node)) {
        if (!anchors.has(node.source))
          refuse(node, `*${node.source} has no anchor &${node.source} before it: define the anchor first`);
        return;
      }
      const anchor = (node as Node | null)?.anchor;
      if (anchor) anchors.add(anchor);
      if (depth > MAX_DEPTH) {
        refuse(node as Node, `nested more than ${MAX_DEPTH} levels deep: no inventory or playbook field is`);
        return;
      }
      if (isCollection(node) && node.tag === "!secret")
        refuse(
          node,
          "!secret marks one value (a string): put it on each secret value, not on a mapping or a list",
        );
      if (isMap(node)) {
        for (const pair of node.items) {
          if (isAlias(pair.key)) walk(pair.key, depth + 1);
          const key = isScalar(pair.key) ? pair.key.value : undefined;
          if (typeof key === "string" && FORBIDDEN_KEYS.has(key))
            refuse(pair.key as Node, `"${key}" cannot be a key: it would reach JavaScript object internals`);
          walk(pair.value, depth + 1);
        }
      } else if (isSeq(node)) for (const item of node.items) walk(item, depth + 1);
    };
    walk(this.doc.contents, 0);
    return issues;
  }

  /** The field path of the deepest node at `offset` (for messages about a position). */
  pathAt(offset: number): PropertyKey[] {
    const path: PropertyKey[] = [];
    let node: unknown = this.doc.contents;
    const inside = (n: unknown) => {
      const r = (n as Node | null)?.range;
      return r ? offset >= r[0] && offset < Math.max(r[1], r[0] + 1) : false;
    };
    for (let depth = 0; depth <= MAX_DEPTH; depth++) {
      if (isMap(node)) {
        const pair = node.items.find((p) => inside(p.key) || inside(p.value));
        // A key with spaces is not a field name: it is what the parser made of a broken line.
        if (!pair || !isScalar(pair.key) || /\s/.test(String(pair.key.value))) break;
        path.push(String(pair.key.value));
        if (!inside(pair.value)) break;
        node = pair.value;
      } else if (isSeq(node)) {
        const index = node.items.findIndex((item) => inside(item));
        if (index < 0) break;
        path.push(index);
        node = node.items[index];
      } else break;
    }
    return path;
  }

  /** `display` is the name used in messages (usually relative to the working directory). */
  static async read(file: string, display = file): Promise<{ source: YamlSource; issues: InputIssue[] }> {
    return YamlSource.parse(display, await readFile(file, "utf8"));
  }

  at(offset: number): SourceLocation {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, col };
  }

  /** Whether the value at `path` was written as ${NAME} (filled from the environment). */
  isFromEnv(path: readonly PropertyKey[]): boolean {
    let node: Node | null | undefined = this.doc.contents as Node | null;
    for (const seg of path) node = child(node, seg)?.value;
    return node ? this.fromEnv.has(node) : false;
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
              this.fromEnv.add(node);
              const v = env[name] ?? fallback;
              if (v === undefined) {
                issues.push({
                  location: this.at(node.range?.[0] ?? 0),
                  path: formatPath(this.pathAt(node.range?.[0] ?? 0)),
                  message: `environment variable ${name} is not set (write \${${name}:-default} for a default)`,
                  severity: "error",
                });
                return "";
              }
              return v;
            },
          );
        }
        if (node.tag === "!secret" && typeof node.value === "string") {
          if (node.value.length < MIN_SECRET_LENGTH)
            issues.push({
              location: this.at(node.range?.[0] ?? 0),
              path: formatPath(this.pathAt(node.range?.[0] ?? 0)),
              message: `a !secret value needs at least ${MIN_SECRET_LENGTH} characters: a shorter one cannot be masked safely in output`,
              severity: "error",
            });
          tagged.push(node.value);
        }
      },
    });
    return { issues, tagged };
  }

  /** The document as plain data; an alias bomb is an input error, not a crash. */
  toJS(): { value: unknown; issues: InputIssue[] } {
    try {
      return { value: this.doc.toJS({ maxAliasCount: 100 }), issues: [] };
    } catch (e) {
      return {
        value: undefined,
        issues: [
          {
            location: this.at(0),
            path: "",
            message: /Excessive alias count/.test((e as Error).message)
              ? "cannot be read: its aliases (*name) expand to too many values (a YAML alias bomb?)"
              : `cannot be read: ${(e as Error).message}`,
            severity: "error",
          },
        ],
      };
    }
  }
}

/** Deeper than any field of an inventory or a playbook; stops runaway recursion early. */
const MAX_DEPTH = 32;
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** A YAML library error in the operator's words. */
function yamlMessage(e: YAMLError): string {
  const first = e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  switch (e.code) {
    case "DUPLICATE_KEY":
      return "this key appears twice in the same mapping: keep one";
    case "MULTIPLE_DOCS":
      return "a second YAML document starts here (---): an inventory or playbook file holds one document";
    case "RESOURCE_EXHAUSTION":
      return "nested too deeply to read (thousands of levels): no inventory or playbook field is";
    case "BAD_ALIAS":
      return `${first} (an alias *name needs an anchor &name above it)`;
    case "TAB_AS_INDENT":
      return "a tab is used for indentation: YAML indents with spaces";
    default:
      return first;
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
