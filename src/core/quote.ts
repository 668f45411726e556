/**
 * POSIX shell quoting, the one path by which values reach a shell (STYLE.md habit 9, issue #8):
 * recipes build command lines with the `sh` tagged template, YAML playbooks' shell fields insert
 * each `{{ value }}` through `quote` (core/interpolate.ts).
 */
const SAFE = /^[A-Za-z0-9_\-./:=@%+,]+$/;

export function quote(value: string | number): string {
  const s = String(value);
  if (s !== "" && SAFE.test(s)) return s;
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Joins words into one command line, quoting each. */
export function command(...words: (string | number)[]): string {
  return words.map(quote).join(" ");
}

/** A piece of shell written by haprov itself (never from input), inserted by `sh` as it is. */
export interface ShellFragment {
  readonly shell: string;
}
export const fragment = (shell: string): ShellFragment => ({ shell });

/**
 * Tagged template: literal parts are kept as written, interpolated values are quoted, fragments
 * (another `sh` line wrapped with `fragment`) are inserted whole. Arrays become several words.
 */
export function sh(
  parts: TemplateStringsArray,
  ...values: (string | number | ShellFragment | string[])[]
): string {
  let out = parts[0] ?? "";
  values.forEach((v, i) => {
    const text = Array.isArray(v) ? v.map(quote).join(" ") : typeof v === "object" ? v.shell : quote(v);
    out += text + (parts[i + 1] ?? "");
  });
  return out;
}
