import { describe, expect, it } from "vitest";
import { whenHolds } from "../../src/core/when.js";
import { interpolate } from "../../src/core/interpolate.js";

const scope = { host: { name: "cp2" }, registered: { initNode: "cp1", empty: "", odd: "a == b" } };
const holds = (...c: string[]) => whenHolds(c, (t) => interpolate(t, scope));

describe("when conditions", () => {
  it("compares interpolated sides, or tests one side for non-empty", () => {
    expect(holds("{{ registered.initNode }} == {{ host.name }}")).toBe(false);
    expect(holds("{{ registered.initNode }} != {{ host.name }}")).toBe(true);
    expect(holds("{{ registered.initNode }}")).toBe(true);
    expect(holds("{{ registered.empty }}")).toBe(false);
    expect(holds("{{ registered.empty }} ==")).toBe(true);
  });
  it("a list means all; an operator inside a value does not split the condition", () => {
    expect(holds("{{ registered.initNode }}", "{{ registered.empty }}")).toBe(false);
    expect(holds("{{ registered.odd }} == a == b")).toBe(true);
    expect(holds("{{ registered.odd }}")).toBe(true);
  });
});
