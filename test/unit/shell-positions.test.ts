import { describe, expect, it } from "vitest";
import { positionProblem, templatePositions, type Position } from "../../src/playbook/shell-positions.js";

/**
 * Where a `{{ value }}` stands in a shell field (issue #20): only a word of its own is safe,
 * because haprov's quoting makes the value one single-quoted word. A table: field text → the
 * position of each template (what `validate` refuses is everything but "word").
 */
const cases: [string, Position[]][] = [
  ["echo {{ vars.x }}", []],
  ["echo {{ vars.x }} > /etc/motd", []],
  ["cp {{ vars.a }} {{ vars.b }}", []],
  ["x=$(cat {{ vars.f }}) && echo ok", []],
  ['test "$(cat /etc/x)" = {{ vars.v }}', []],
  ["echo prefix-{{ vars.x }}-suffix", []],
  ['echo "prefix"{{ vars.x }}', []],
  ["sh -c 'echo \"$1\"' _ {{ vars.x }}", []],
  ["awk -v v={{ vars.x }} '{ print v }' /etc/f", []],
  ["timeout 5 curl -sf {{ vars.url }}", []],
  ["grep -q -- {{ vars.x }} /etc/f", []],
  ["for f in {{ hosts }}; do echo $f; done", []],
  ['echo "{{ vars.motd }}" > /etc/motd', ["double-quoted"]],
  ["echo '{{ vars.motd }}'", ["single-quoted"]],
  ['echo "a $(echo b) {{ vars.x }}"', ["double-quoted"]],
  ['echo "$(echo {{ vars.x }})"', []],
  ['echo "$(echo "{{ vars.x }}")"', ["double-quoted"]],
  ["sh -c 'echo {{ vars.x }}'", ["single-quoted", "script argument"]],
  ["sh -c {{ vars.x }}", ["script argument"]],
  ["bash -ec {{ vars.x }}", ["script argument"]],
  ["sudo sh -c {{ vars.x }}", ["script argument"]],
  ["env A=1 bash -c {{ vars.x }}", ["script argument"]],
  ["eval {{ vars.x }}", ["script argument"]],
  ["eval echo {{ vars.x }}", ["script argument"]],
  ["python3 -c {{ vars.x }}", ["script argument"]],
  ["perl -e {{ vars.x }}", ["script argument"]],
  ["ssh backup.example {{ vars.cmd }}", ["script argument"]],
  ["su -c {{ vars.cmd }} nobody", ["script argument"]],
  ["awk {{ vars.prog }} /etc/f", ["script argument"]],
  ["sed -n {{ vars.expr }} /etc/f", ["script argument"]],
  ["sed -e {{ vars.expr }} /etc/f", ["script argument"]],
  ["echo `echo {{ vars.x }}`", ["backquoted"]],
  ["echo ${X:-{{ vars.x }}}", ["parameter expansion"]],
  ["echo $(( {{ vars.n }} + 1 ))", ["arithmetic"]],
  ["cat <<EOF > /etc/x\nvalue={{ vars.x }}\nEOF\necho {{ vars.y }}", ["here-document"]],
  ["cat <<'EOF' | sh\n{{ vars.x }}\nEOF", ["here-document"]],
  ["cat <<-EOF\n\t{{ vars.x }}\n\tEOF", ["here-document"]],
  ['printf "%s\\n" "{{ vars.a }}" {{ vars.b }}', ["double-quoted"]],
  ["echo ok; sh -c {{ vars.x }}; echo {{ vars.y }}", ["script argument"]],
  ["echo ok | xargs sh -c {{ vars.x }}", ["script argument"]],
];

describe("template positions in shell fields", () => {
  it.each(cases)("%j", (text, positions) => {
    const bad = templatePositions(text)
      .map((u) => u.position)
      .filter((p) => p !== "word");
    expect([...new Set(bad)]).toEqual(positions);
  });

  it("says where the value stands and how to write it", () => {
    const [u] = templatePositions('echo "{{ vars.motd }}" > /etc/motd');
    expect(positionProblem(u!)).toMatch(/inside a double-quoted string.*outside the quotes, as its own word/);
    const [s] = templatePositions("sh -c {{ vars.x }}");
    expect(positionProblem(s!)).toMatch(/sh -c runs.*sh -c 'echo "\$1"' _ \{\{ vars\.x \}\}/);
  });
});
