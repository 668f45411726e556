import { VALUE_REF } from "../core/interpolate.js";

/**
 * Where each `{{ value }}` stands in a shell field of a playbook (issue #20). haprov inserts a value
 * as one single-quoted word (core/quote.ts); that holds only where a word can stand: at the top of
 * the line or inside `$( … )`. Inside '…' or "…" the quotes haprov adds end the author's own, and a
 * value such as `$(touch /tmp/x)` runs as root; inside a here-document, `${ … }`, `$(( … ))` or
 * backquotes quoting rules differ; and a word that is itself a script (`sh -c WORD`, `eval`,
 * `python3 -c`, `ssh HOST …`, an awk program) runs the value however it is quoted. This scanner
 * finds those positions so `validate` can refuse them with the field's file:line:col.
 */
export type Position =
  | "word"
  | "single-quoted"
  | "double-quoted"
  | "backquoted"
  | "here-document"
  | "parameter expansion"
  | "arithmetic"
  | "script argument";

export interface TemplateUse {
  ref: string;
  position: Position;
  /** For a script argument: the command that runs it ("sh -c", "eval"). */
  runner?: string;
}

const SHELLS = new Set(["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "busybox", "su"]);
const INTERPRETERS = new Set(["python", "python2", "python3", "perl", "ruby", "node", "php", "lua"]);
/** Commands whose every argument is run as a command line. */
const RUN_ALL = new Set(["eval", "ssh", "watch"]);
/** Commands whose first operand is a program in their own language (and their options with an argument). */
const PROGRAM_FIRST: Record<string, Set<string>> = {
  awk: new Set(["-F", "-v", "-f"]),
  gawk: new Set(["-F", "-v", "-f"]),
  mawk: new Set(["-F", "-v", "-f"]),
  sed: new Set(["-e", "-f", "-l"]),
  jq: new Set(["--arg", "--argjson", "-L"]),
};
/** Words that run the command after them (their arguments are that command's). */
const PREFIXES = new Set([
  "sudo",
  "env",
  "exec",
  "command",
  "nohup",
  "timeout",
  "nice",
  "ionice",
  "setsid",
  "xargs",
  "time",
]);

const base = (w: string) => w.replace(/^.*\//, "");

/**
 * Which command runs the *next* word of `words`' simple command as a script, if it does: any
 * argument of eval/ssh/watch, the word after a shell's or interpreter's -c/-e, the first operand
 * of awk/sed/jq (their program).
 */
function scriptRunner(words: string[]): string | undefined {
  let i = 0;
  // skip prefixes and their options, assignments and durations (env A=b, timeout 5, sudo -E)
  while (i < words.length && (PREFIXES.has(base(words[i]!)) || /^[A-Za-z_]\w*=/.test(words[i]!))) {
    i++;
    while (i < words.length && (/^-/.test(words[i]!) || /^\d+[smhd]?$/.test(words[i]!))) i++;
  }
  const cmd = words[i];
  if (cmd === undefined) return undefined;
  const name = base(cmd);
  const rest = words.slice(i + 1);
  const last = rest.at(-1) ?? "";
  if (RUN_ALL.has(name)) return name;
  if (SHELLS.has(name) && /^-[a-z]*c$/i.test(last)) return `${name} -c`;
  if (INTERPRETERS.has(name) && /^-[a-z]*[ce]$/i.test(last)) return `${name} ${last}`;
  const withArg = PROGRAM_FIRST[name];
  if (withArg) {
    // the program is the first operand (with sed/jq, unless -e/-f gave it already)
    let k = 0;
    let given = false;
    while (k < rest.length && rest[k]!.startsWith("-")) {
      if (name === "sed" && (rest[k] === "-e" || rest[k] === "-f")) given = true;
      k += withArg.has(rest[k]!) ? 2 : 1;
    }
    if (k === rest.length && !given) return `${name}'s program`;
    if (name === "sed" && rest.at(-1) === "-e") return "sed -e";
  }
  return undefined;
}

const SENTINEL = (i: number) => `\u0000${i}\u0000`;
// eslint-disable-next-line no-control-regex -- NUL never occurs in YAML text: a safe marker
const SENTINEL_RE = /\u0000(\d+)\u0000/g;

/** Every `{{ }}` of a shell field, with the position it stands in. */
export function templatePositions(text: string): TemplateUse[] {
  const refs: string[] = [];
  const s = text.replace(VALUE_REF, (_m, ref: string) => SENTINEL(refs.push(ref) - 1));
  const found: TemplateUse[] = [];
  const marked = new Set<number>();
  const mark = (segment: string, position: Position, runner?: string) => {
    for (const m of segment.matchAll(SENTINEL_RE)) {
      marked.add(Number(m[1]));
      found.push({ ref: refs[Number(m[1])]!, position, ...(runner ? { runner } : {}) });
    }
  };
  scan(s, 0, undefined, mark);
  // the rest stand as words of their own (at the top, or inside $( … ))
  refs.forEach((ref, i) => {
    if (!marked.has(i)) found.push({ ref, position: "word" });
  });
  return found;
}

/** Index just past the `close` that ends a region opened before `i`, nesting on `open`. */
function matching(s: string, i: number, open: string, close: string): number {
  let depth = 1;
  while (i < s.length) {
    if (s[i] === "\\") i += 2;
    else if (s.startsWith(open, i)) {
      depth++;
      i += open.length;
    } else if (s.startsWith(close, i)) {
      if (--depth === 0) return i + close.length;
      i += close.length;
    } else i++;
  }
  return s.length;
}

type Mark = (segment: string, position: Position, runner?: string) => void;

/**
 * Scans from `i` until `end` (")" for a command substitution) at the top quoting level; returns
 * the index after it. Tracks the words of the current simple command, to tell a script argument.
 */
function scan(s: string, i: number, end: string | undefined, mark: Mark): number {
  let words: string[] = [];
  let word = "";
  let wordStart = i;
  const heredocs: { delim: string; strip: boolean }[] = [];
  const endWord = () => {
    if (word !== "") {
      const runner = scriptRunner(words);
      if (runner) mark(s.slice(wordStart, i), "script argument", runner);
      words.push(word);
    }
    word = "";
  };
  const endCommand = () => {
    endWord();
    words = [];
  };
  while (i < s.length) {
    const c = s[i]!;
    if (word === "") wordStart = i;
    if (end && c === end) {
      endCommand();
      return i + 1;
    }
    if (c === "\\") {
      word += s.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (c === "'") {
      const close = s.indexOf("'", i + 1);
      const stop = close < 0 ? s.length : close + 1;
      mark(s.slice(i, stop), "single-quoted");
      word += s.slice(i, stop);
      i = stop;
      continue;
    }
    if (c === '"') {
      i = doubleQuoted(s, i + 1, mark);
      word += '"…"';
      continue;
    }
    if (c === "`") {
      const stop = matching(s, i + 1, "\u0001", "`");
      mark(s.slice(i, stop), "backquoted");
      word += "`…`";
      i = stop;
      continue;
    }
    if (s.startsWith("$((", i)) {
      const stop = matching(s, i + 3, "((", "))");
      mark(s.slice(i, stop), "arithmetic");
      word += "$((…))";
      i = stop;
      continue;
    }
    if (s.startsWith("$(", i)) {
      i = scan(s, i + 2, ")", mark);
      word += "$(…)";
      continue;
    }
    if (s.startsWith("${", i)) {
      const stop = matching(s, i + 2, "${", "}");
      mark(s.slice(i, stop), "parameter expansion");
      word += "${…}";
      i = stop;
      continue;
    }
    if (s.startsWith("<<", i) && !s.startsWith("<<<", i)) {
      endWord();
      let j = i + 2;
      const strip = s[j] === "-";
      if (strip) j++;
      while (s[j] === " " || s[j] === "\t") j++;
      const m = /^(['"]?)([^\s'";&|<>()]+)\1/.exec(s.slice(j));
      if (m) {
        heredocs.push({ delim: m[2]!, strip });
        i = j + m[0].length;
        continue;
      }
    }
    if (c === "\n") {
      endCommand();
      i++;
      // here-documents begin on the next line and end at their delimiter's line
      for (const h of heredocs.splice(0)) {
        let lineEnd = s.indexOf("\n", i);
        while (i < s.length) {
          if (lineEnd < 0) lineEnd = s.length;
          const line = s.slice(i, lineEnd);
          if ((h.strip ? line.replace(/^\t+/, "") : line) === h.delim) {
            i = Math.min(s.length, lineEnd + 1);
            break;
          }
          mark(line, "here-document");
          i = lineEnd + 1;
          lineEnd = s.indexOf("\n", i);
        }
      }
      continue;
    }
    if (c === " " || c === "\t") {
      endWord();
      i++;
      continue;
    }
    if (";&|(){}".includes(c)) {
      endCommand();
      i++;
      continue;
    }
    word += c;
    i++;
  }
  endCommand();
  return i;
}

/** Inside "…" from `i`: a `$( )` there starts a quoting level of its own. Returns past the close. */
function doubleQuoted(s: string, i: number, mark: Mark): number {
  let from = i;
  while (i < s.length) {
    const c = s[i]!;
    if (c === "\\") {
      i += 2;
      continue;
    }
    if (c === '"') {
      mark(s.slice(from, i), "double-quoted");
      return i + 1;
    }
    if (s.startsWith("$((", i)) {
      mark(s.slice(from, i), "double-quoted");
      const stop = matching(s, i + 3, "((", "))");
      mark(s.slice(i, stop), "arithmetic");
      i = from = stop;
      continue;
    }
    if (s.startsWith("$(", i)) {
      mark(s.slice(from, i), "double-quoted");
      i = from = scan(s, i + 2, ")", mark);
      continue;
    }
    i++;
  }
  mark(s.slice(from), "double-quoted");
  return s.length;
}

/** The sentence `validate` says for a template that stands where quoting cannot hold. */
export function positionProblem(u: TemplateUse): string | undefined {
  const what = `{{ ${u.ref} }}`;
  switch (u.position) {
    case "word":
      return undefined;
    case "single-quoted":
    case "double-quoted":
      return `${what} stands inside a ${u.position} string: haprov quotes a value as one shell word of its own, and inside quotes that quoting ends the string, so a value like $(…) would run as root. Write it outside the quotes, as its own word: echo {{ ${u.ref} }} > FILE, or "prefix"{{ ${u.ref} }}`;
    case "script argument":
      return `${what} is part of a script that ${u.runner} runs: quoted or not, the value would be run as code. Pass it as an argument instead, e.g. sh -c 'echo "$1"' _ {{ ${u.ref} }}`;
    default:
      return `${what} stands in a ${u.position}, where a quoted value is not one word: write it as a word of its own on the command line (or pass it as an argument to a script)`;
  }
}
