/**
 * A very small reader for the XML pacemaker's tools print (`cibadmin --query`, `crm_mon
 * --output-as=xml`): machine-written, well-formed, attributes in double quotes. Elements with their
 * attributes and children; text content is not needed and not kept.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
}

const ENTITIES: Record<string, string> = {
  "&lt;": "<",
  "&gt;": ">",
  "&amp;": "&",
  "&quot;": '"',
  "&apos;": "'",
};
const unescape = (s: string) => s.replace(/&(lt|gt|amp|quot|apos);/g, (e) => ENTITIES[e]!);

export function parseXml(text: string): XmlElement {
  const root: XmlElement = { name: "#root", attrs: {}, children: [] };
  const stack = [root];
  const tag =
    /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*"[^"]*")*)\s*(\/?)>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>/g;
  for (const m of text.matchAll(tag)) {
    if (!m[2]) continue; // a comment or a declaration
    const [, closing, name, attrText = "", selfClosing] = m;
    if (closing) {
      if (stack.length > 1 && stack.at(-1)!.name === name) stack.pop();
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText.matchAll(/([\w:.-]+)\s*=\s*"([^"]*)"/g)) attrs[a[1]!] = unescape(a[2]!);
    const el: XmlElement = { name: name!, attrs, children: [] };
    stack.at(-1)!.children.push(el);
    if (!selfClosing) stack.push(el);
  }
  return root;
}

/** Every element below `el` (depth first) with this name. */
export function findAll(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    for (const c of e.children) {
      if (c.name === name) out.push(c);
      walk(c);
    }
  };
  walk(el);
  return out;
}

/** The first element below `el` with this name and, if given, this id. */
export const find = (el: XmlElement, name: string, id?: string): XmlElement | undefined =>
  findAll(el, name).find((e) => id === undefined || e.attrs.id === id);

/** name → value of the nvpairs directly inside the element's `set` child (e.g. instance_attributes). */
export function nvpairs(el: XmlElement | undefined, set: string): Record<string, string> {
  const s = el?.children.find((c) => c.name === set);
  return Object.fromEntries(
    (s?.children ?? []).filter((c) => c.name === "nvpair").map((p) => [p.attrs.name!, p.attrs.value ?? ""]),
  );
}
