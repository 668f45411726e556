import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { z } from "zod";
import { change, noop, type Action } from "../core/action.js";
import { HaprovError } from "../core/errors.js";
import { command } from "../core/quote.js";
import { fileState, pathExists } from "../facts/file-state.js";
import { placeholders, type StepContext, type StepType } from "./step.js";
import { unifiedDiff } from "./unified-diff.js";

const mode = z.string().regex(/^0?[0-7]{3}$/, {
  error: 'expected an octal mode string such as "0644"',
});

/** A user or group: a POSIX name or a number, or one {{ value }} that must be one (issue #20). */
const NAME = /^([a-z_][a-z0-9_-]{0,31}|\d{1,10})$/;
const owner = z.string().regex(/^([a-z_][a-z0-9_-]{0,31}|\d{1,10}|\{\{\s*[A-Za-z_][\w.-]*\s*\}\})$/, {
  error:
    "expected a user or group name (lower-case letters, digits, '_' or '-', not starting with '-'), a number, or one {{ value }}",
});

export const FileParams = z
  .strictObject({
    path: z
      .string()
      .regex(/^(\/|\{\{)/, { error: "expected an absolute path (it may start with a {{ value }})" }),
    content: z.string().optional(),
    template: z.string().optional(),
    mode: mode.default("0644"),
    owner: owner.default("root"),
    group: owner.default("root"),
    validate: z
      .union([
        z.string(),
        z.strictObject({
          command: z.string(),
          failOnStderr: z.boolean().default(false),
        }),
      ])
      .optional()
      .describe("Command run on the temp file before it replaces the live one; %s is its path"),
    secret: z.boolean().default(false).describe("Never show or read back the content (diffs are hidden)"),
    encoding: z
      .enum(["utf8", "base64"], { error: "expected utf8 or base64" })
      .default("utf8")
      .describe("base64: the content is decoded first (exact bytes, e.g. keys copied between hosts)"),
  })
  .refine((p) => (p.content === undefined) !== (p.template === undefined), {
    error: "expected exactly one of content or template",
  });
export type FileParams = z.infer<typeof FileParams>;

/** The path with `{{ host.name }}`-style values filled in (per-host paths). */
function pathOf(p: FileParams, ctx: StepContext): string {
  const path = ctx.interpolatePath(p.path);
  if (!path.startsWith("/")) throw new HaprovError(`file path ${path} (from ${p.path}) is not absolute`);
  return path;
}

export function desiredContent(p: FileParams, ctx: StepContext): Buffer {
  const text = p.template !== undefined ? ctx.renderTemplate(p.template) : ctx.interpolate(p.content ?? "");
  return Buffer.from(text, p.encoding);
}

const ownerOf = (p: FileParams, ctx: StepContext) => {
  const [owner, group] = [ctx.interpolate(p.owner), ctx.interpolate(p.group)];
  for (const [field, v] of [
    ["owner", owner],
    ["group", group],
  ] as const)
    if (!NAME.test(v))
      throw new HaprovError(
        `file ${field} ${JSON.stringify(v)} (from ${p[field]}) is not a user or group name or number`,
      );
  return { owner, group };
};

export const fileStep: StepType<FileParams> = {
  type: "file",
  params: FileParams,
  describe: (p) => `file ${placeholders(p.path)}`,
  facts: (p, ctx) => [fileState(pathOf(p, ctx), !p.secret), pathExists(dirname(pathOf(p, ctx)))],
  files: (p, ctx) => [
    {
      path: pathOf(p, ctx),
      mode: p.mode.padStart(4, "0"),
      ...ownerOf(p, ctx),
      content: desiredContent(p, ctx).toString(),
      secret: p.secret,
    },
  ],
  plan(params, facts, ctx) {
    const p = { ...params, path: pathOf(params, ctx), ...ownerOf(params, ctx) };
    const want = desiredContent(p, ctx);
    const wantHash = createHash("sha256").update(want).digest("hex");
    const wantMode = p.mode.padStart(4, "0");
    const live = facts.get(fileState(p.path, !p.secret));
    const validate = typeof p.validate === "string" ? { command: p.validate } : p.validate;
    if (validate && !validate.command.includes("%s")) {
      throw new HaprovError(`validate command for ${p.path} must contain %s (the temp file's path)`);
    }
    const write: Action = {
      kind: "write",
      path: p.path,
      content: want,
      mode: wantMode,
      owner: p.owner,
      group: p.group,
      ...(validate ? { validate } : {}),
    };
    const actions: Action[] = facts.get(pathExists(dirname(p.path)))
      ? []
      : [
          {
            kind: "exec",
            command: command("mkdir", "-p", "-m", "0755", dirname(p.path)),
          },
        ];
    if (!live.exists) {
      return change(
        `create ${p.path}`,
        [...actions, write],
        p.secret ? undefined : unifiedDiff(p.path, "", want.toString()),
      );
    }
    if (live.sha256 !== wantHash) {
      const diff = p.secret
        ? `${p.path}: content differs (secret: diff hidden)`
        : live.content
          ? unifiedDiff(p.path, live.content.toString(), want.toString())
          : `${p.path}: content differs (file too large to diff)`;
      return change(`update ${p.path}`, [...actions, write], diff);
    }
    const meta: string[] = [];
    const fix: Action[] = [];
    if (live.mode !== wantMode) {
      meta.push(`mode ${live.mode} → ${wantMode}`);
      fix.push({ kind: "exec", command: command("chmod", wantMode, p.path) });
    }
    if (live.owner !== p.owner || live.group !== p.group) {
      meta.push(`owner ${live.owner}:${live.group} → ${p.owner}:${p.group}`);
      fix.push({
        kind: "exec",
        command: command("chown", `${p.owner}:${p.group}`, p.path),
      });
    }
    if (fix.length > 0) return change(`${p.path}: ${meta.join(", ")}`, fix);
    return noop(`${p.path} already matches`);
  },
};
