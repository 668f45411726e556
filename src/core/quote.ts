/**
 * POSIX shell quoting. Every value interpolated into a remote command goes through `quote`
 * (habit 9 in STYLE.md): inventory values never reach a shell unquoted.
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

/** Tagged template: literal parts are kept as written, interpolated values are quoted. */
export function sh(parts: TemplateStringsArray, ...values: (string | number)[]): string {
  let out = parts[0] ?? "";
  values.forEach((v, i) => {
    out += quote(v) + (parts[i + 1] ?? "");
  });
  return out;
}
