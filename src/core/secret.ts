/**
 * The single redaction mechanism. A value is secret when the inventory marks it (a secret field,
 * a `!secret` tag) or a step produces it (a registered secret output). Every secret is added to
 * the run's Redactor, and every string that leaves the engine — events, errors, JSON — passes
 * through `redact` on its way out.
 */
export const MASK = "***";

export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return MASK;
  }
  toJSON(): string {
    return MASK;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return MASK;
  }
}

export class Redactor {
  #values = new Set<string>();

  add(value: string | number | Secret | undefined): void {
    const raw = value instanceof Secret ? value.reveal() : value === undefined ? undefined : String(value);
    // Very short values would mask unrelated text ("1", "a"); secrets that short are not secrets.
    if (!raw || raw.length < 4) return;
    this.#values.add(raw);
    // The forms it takes on the way out (issue #20): inside a single-quoted shell word (each ' is
    // written '\''), and inside a JSON string (", \ and control characters escaped).
    for (const form of [raw.replaceAll("'", "'\\''"), JSON.stringify(raw).slice(1, -1)])
      if (form !== raw) this.#values.add(form);
  }

  get size(): number {
    return this.#values.size;
  }

  redact(text: string): string {
    let out = text;
    // Longest first, so a secret that contains another is masked whole.
    for (const v of [...this.#values].sort((a, b) => b.length - a.length)) {
      if (out.includes(v)) out = out.split(v).join(MASK);
    }
    return out;
  }

  /** Deep copy of a JSON-like value with every string redacted. */
  redactDeep<T>(value: T): T {
    if (typeof value === "string") return this.redact(value) as T;
    if (value instanceof Secret) return MASK as T;
    if (Array.isArray(value)) return value.map((v) => this.redactDeep(v)) as T;
    if (value && typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.redactDeep(v);
      return out as T;
    }
    return value;
  }
}
