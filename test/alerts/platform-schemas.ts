/** Payload schemas of each chat platform, written from the platforms' documentation (shapes and limits). */
import { z } from "zod";

/** The schema's complaints about `body`, or null when it conforms. */
export const issues = (schema: z.ZodType, body: unknown): string | null => {
  const parsed = schema.safeParse(body);
  return parsed.success
    ? null
    : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
};

// Slack Block Kit: header plain_text ≤ 150; section text ≤ 3000; ≤ 10 fields of ≤ 2000; ≤ 50 blocks.
const slackText = (max: number) =>
  z.strictObject({
    type: z.enum(["plain_text", "mrkdwn"]),
    text: z.string().min(1).max(max),
    emoji: z.boolean().optional(),
  });
const slackBlock = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("header"),
    text: slackText(150).extend({ type: z.literal("plain_text") }),
  }),
  z
    .strictObject({
      type: z.literal("section"),
      text: slackText(3000).optional(),
      fields: z.array(slackText(2000)).max(10).optional(),
    })
    .refine((b) => b.text || b.fields, "a section needs text or fields"),
  z.strictObject({ type: z.literal("context"), elements: z.array(slackText(3000)).min(1).max(10) }),
  z.strictObject({ type: z.literal("divider") }),
]);
/** Slack incoming webhook body. */
export const slackSchema = z
  .object({
    text: z.string().max(40_000).optional(),
    blocks: z.array(slackBlock).max(50).optional(),
    attachments: z
      .array(z.object({ color: z.string().optional(), blocks: z.array(slackBlock).max(50).optional() }))
      .optional(),
  })
  .refine((b) => b.text || b.blocks || b.attachments, "no_text");

// Discord webhook: content ≤ 2000, ≤ 10 embeds, title 256, description 4096, ≤ 25 fields (256/1024), footer 2048, total ≤ 6000.
const embed = z.strictObject({
  title: z.string().max(256).optional(),
  description: z.string().max(4096).optional(),
  url: z.string().url().optional(),
  color: z.number().int().min(0).max(0xffffff).optional(),
  timestamp: z.iso.datetime().optional(),
  footer: z.strictObject({ text: z.string().max(2048) }).optional(),
  fields: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(256),
        value: z.string().min(1).max(1024),
        inline: z.boolean().optional(),
      }),
    )
    .max(25)
    .optional(),
});
/** Discord execute-webhook body. */
export const discordSchema = z
  .object({
    content: z.string().max(2000).optional(),
    username: z.string().max(80).optional(),
    embeds: z.array(embed).max(10).optional(),
    allowed_mentions: z.object({ parse: z.array(z.string()) }).optional(),
  })
  .refine((b) => b.content || b.embeds?.length, "Cannot send an empty message")
  .refine(
    (b) =>
      (b.embeds ?? []).reduce(
        (n, e) =>
          n +
          (e.title?.length ?? 0) +
          (e.description?.length ?? 0) +
          (e.footer?.text.length ?? 0) +
          (e.fields ?? []).reduce((m, f) => m + f.name.length + f.value.length, 0),
        0,
      ) <= 6000,
    "Embed size exceeds maximum size of 6000",
  );

// Teams Workflows: the message envelope with one Adaptive Card, version at most 1.4 for Teams.
const cardElement = z
  .object({ type: z.enum(["TextBlock", "FactSet", "ColumnSet", "Container", "Image", "RichTextBlock"]) })
  .passthrough();
/** Teams Workflows webhook body. */
export const teamsSchema = z.strictObject({
  type: z.literal("message"),
  attachments: z
    .array(
      z.strictObject({
        contentType: z.literal("application/vnd.microsoft.card.adaptive"),
        contentUrl: z.null().optional(),
        content: z.object({
          $schema: z.string().optional(),
          type: z.literal("AdaptiveCard"),
          version: z.enum(["1.0", "1.1", "1.2", "1.3", "1.4"]),
          body: z.array(cardElement).min(1),
          actions: z
            .array(z.object({ type: z.literal("Action.OpenUrl"), title: z.string(), url: z.string().url() }))
            .optional(),
          msteams: z.object({ width: z.string() }).optional(),
        }),
      }),
    )
    .length(1),
});

/** Mattermost incoming webhook body. */
export const mattermostSchema = z.object({
  text: z.string().min(1).max(16_383),
  channel: z.string().optional(),
  username: z.string().optional(),
  icon_url: z.string().optional(),
});

/** Google Chat webhook message. */
export const googleChatSchema = z.object({
  text: z.string().min(1).max(4096),
  thread: z.object({ threadKey: z.string().min(1) }).optional(),
});

/** Matrix `m.room.message` content. */
export const matrixSchema = z.strictObject({
  msgtype: z.enum(["m.text", "m.notice"]),
  body: z.string().min(1),
  format: z.literal("org.matrix.custom.html").optional(),
  formatted_body: z.string().optional(),
});

/** ntfy JSON publish body. */
export const ntfySchema = z.strictObject({
  topic: z.string().regex(/^[-_A-Za-z0-9]{1,64}$/),
  message: z.string().refine((m) => new TextEncoder().encode(m).length <= 4096, "message over 4096 bytes"),
  title: z.string().max(250).optional(),
  priority: z.number().int().min(1).max(5).optional(),
  tags: z.array(z.string()).optional(),
  click: z.string().url().optional(),
  markdown: z.boolean().optional(),
});

const TELEGRAM_TAGS = new Set([
  "b",
  "strong",
  "i",
  "em",
  "u",
  "ins",
  "s",
  "strike",
  "del",
  "a",
  "code",
  "pre",
  "span",
  "tg-spoiler",
  "blockquote",
]);
/** Telegram's HTML parse mode: only its tags, `&` only as an entity; returns the visible text or an error. */
export function parseTelegramHtml(html: string): { text: string } | { error: string } {
  let text = "";
  const stack: string[] = [];
  for (let i = 0; i < html.length; ) {
    const ch = html[i] ?? "";
    if (ch === "<") {
      const end = html.indexOf(">", i);
      const m = end < 0 ? null : /^<(\/?)([a-z-]+)(\s[^>]*)?>$/.exec(html.slice(i, end + 1));
      if (!m || !TELEGRAM_TAGS.has(m[2] ?? "")) return { error: `Unsupported start tag at byte offset ${i}` };
      if (m[1]) {
        if (stack.pop() !== m[2]) return { error: `Unmatched end tag at byte offset ${i}` };
      } else stack.push(m[2] ?? "");
      i = end + 1;
    } else if (ch === "&") {
      const m = /^&(lt|gt|amp|quot|#\d+);/.exec(html.slice(i));
      if (!m) return { error: `Unsupported entity at byte offset ${i}` };
      text += "x";
      i += m[0].length;
    } else if (ch === ">") {
      return { error: `Unexpected ">" at byte offset ${i}` };
    } else {
      text += ch;
      i++;
    }
  }
  if (stack.length > 0) return { error: "Unclosed tag" };
  return { text };
}
/** Telegram `sendMessage` body. */
export const telegramSchema = z.object({
  chat_id: z.union([z.string(), z.number()]),
  text: z.string().min(1),
  parse_mode: z.enum(["HTML", "MarkdownV2", "Markdown"]).optional(),
  message_thread_id: z.number().int().optional(),
  link_preview_options: z.object({ is_disabled: z.boolean() }).optional(),
});

/** The access token the Matrix receiver accepts. */
export const MATRIX_TOKEN = "syt_test_token";
/** The bot token the Telegram receiver accepts. */
export const TELEGRAM_TOKEN = "123456:ABC-test";
