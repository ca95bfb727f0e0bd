/**
 * Config schema for `alerts[]` (CONTRACT §3): one entry per chat or pager destination, each in its own shape.
 * A destination names the environment variables that hold its URL, token or secret, never the values.
 */
import { z } from "zod";
import { parseDuration } from "./duration.ts";

export const alertTypes = [
  "slack",
  "discord",
  "teams",
  "mattermost",
  "googlechat",
  "matrix",
  "ntfy",
  "telegram",
  "webhook",
  "pagerduty",
  "opsgenie",
  "alertmanager",
] as const;
/** The kinds of alert destination. */
export type AlertType = (typeof alertTypes)[number];

/** Events an alert can be routed on (the audit log's types that matter to a person on call). */
export const alertEventTypes = [
  "failover",
  "failback",
  "both-down",
  "both-down.cleared",
  "dns.switched",
  "dns.error",
  "dns.drift",
  "dns.recovered",
  "dns.diverged",
  "dns.converged",
  "probe.silent",
  "probe.back",
  "flap.held",
  "switch.suppressed",
  "pin",
  "pause",
  "resume",
  "coordinator.started",
  "active.down",
  "active.down.cleared",
  "dns.lagging",
  "dns.lagging.cleared",
  "control-plane.frozen",
  "control-plane.resumed",
] as const;
/** One event type an alert can be routed on. */
export type AlertEventType = (typeof alertEventTypes)[number];

export const severities = ["info", "warning", "critical"] as const;
/** How urgent an alert is; routing keeps what is at or above a destination's `minSeverity`. */
export type Severity = (typeof severities)[number];

function duration() {
  return z.union([z.string(), z.number()]).transform((value, ctx) => {
    try {
      return parseDuration(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message }); // parseDuration throws only RangeError
      return z.NEVER;
    }
  });
}

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "Must be an environment variable name" });
const httpUrl = z.url({ protocol: /^https?$/, message: "Must be an http:// or https:// URL" });

const common = {
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/i, { message: "Must be letters, digits, ., - and _" })
    .optional(),
  /** Event types sent to this destination; all of `alertEventTypes` when absent. */
  events: z.array(z.enum(alertEventTypes)).min(1).optional(),
  minSeverity: z.enum(severities).default("info"),
  /** How long the first event of a quiet group waits for companions before one message goes out. */
  groupWait: duration().default(10_000),
  /** Least time between two messages of the same group (service); events in between are sent together. */
  repeatInterval: duration().default(300_000),
  /** At most `messages` per `per` to this destination; later messages wait their turn. */
  rateLimit: z.strictObject({ messages: z.number().int().min(1), per: duration() }).optional(),
};

const slack = z.strictObject({ type: z.literal("slack"), urlEnv: envName, ...common });
const discord = z.strictObject({ type: z.literal("discord"), urlEnv: envName, ...common });
const teams = z.strictObject({ type: z.literal("teams"), urlEnv: envName, ...common });
const mattermost = z.strictObject({
  type: z.literal("mattermost"),
  urlEnv: envName,
  channel: z.string().min(1).optional(),
  username: z.string().min(1).optional(),
  ...common,
});
const googlechat = z.strictObject({ type: z.literal("googlechat"), urlEnv: envName, ...common });
const matrix = z.strictObject({
  type: z.literal("matrix"),
  homeserver: httpUrl,
  room: z.string().regex(/^[!#][^:]+:.+$/, { message: 'Must be a room id such as "!abc:example.org"' }),
  tokenEnv: envName,
  ...common,
});
const ntfy = z.strictObject({
  type: z.literal("ntfy"),
  /** The topic URL, e.g. https://ntfy.sh/my-topic (the topic name is a secret on a public server). */
  urlEnv: envName,
  tokenEnv: envName.optional(),
  ...common,
});
const telegram = z.strictObject({
  type: z.literal("telegram"),
  tokenEnv: envName,
  chatId: z.union([z.string().min(1), z.number().int()]),
  threadId: z.number().int().optional(),
  apiBase: httpUrl.default("https://api.telegram.org"),
  ...common,
});
const webhook = z.strictObject({
  type: z.literal("webhook"),
  urlEnv: envName,
  /** Standard Webhooks secret, `whsec_<base64 key>`; without it the webhook is sent unsigned. */
  secretEnv: envName.optional(),
  ...common,
});

const pagerduty = z.strictObject({
  type: z.literal("pagerduty"),
  /** The 32-character integration key of an Events API v2 integration. */
  routingKeyEnv: envName,
  apiBase: httpUrl.default("https://events.pagerduty.com"),
  ...common,
});
const opsgenie = z.strictObject({
  type: z.literal("opsgenie"),
  apiKeyEnv: envName,
  /** Which Opsgenie instance the account lives on; `apiBase` overrides it. */
  region: z.enum(["us", "eu"]).default("us"),
  apiBase: httpUrl.optional(),
  ...common,
});
const alertmanager = z.strictObject({
  type: z.literal("alertmanager"),
  /** Every member of the Alertmanager cluster: each alert is posted to all of them. */
  urls: z.array(httpUrl).min(1),
  /** Bearer token, or basic auth from a user and a password; all optional. */
  tokenEnv: envName.optional(),
  usernameEnv: envName.optional(),
  passwordEnv: envName.optional(),
  /** How often a firing alert is posted again while its episode lasts (it expires after 4 of these). */
  resendInterval: duration().default(60_000),
  ...common,
});

export const alertSchema = z.discriminatedUnion("type", [
  slack,
  discord,
  teams,
  mattermost,
  googlechat,
  matrix,
  ntfy,
  telegram,
  webhook,
  pagerduty,
  opsgenie,
  alertmanager,
]);
/** One alert destination as validated: durations in milliseconds, defaults filled in. */
export type AlertConfig = z.infer<typeof alertSchema>;
/** The validated config of one destination type. */
export type AlertConfigOf<T extends AlertType> = Extract<AlertConfig, { type: T }>;

/** Default per-destination rate limits, from each platform's documented or observed limits. */
export const defaultRateLimits: Record<AlertType, { messages: number; per: number }> = {
  slack: { messages: 1, per: 1000 },
  discord: { messages: 5, per: 2000 },
  teams: { messages: 4, per: 1000 },
  mattermost: { messages: 10, per: 1000 },
  googlechat: { messages: 1, per: 1000 },
  matrix: { messages: 5, per: 1000 },
  ntfy: { messages: 10, per: 1000 },
  telegram: { messages: 20, per: 60_000 },
  webhook: { messages: 10, per: 1000 },
  // PagerDuty's Events API v2 admits about 120 events a minute per routing key.
  pagerduty: { messages: 2, per: 1000 },
  // Opsgenie's Alert API: create and close share a per-minute budget by plan; stay well below the smallest.
  opsgenie: { messages: 5, per: 1000 },
  alertmanager: { messages: 20, per: 1000 },
};

/** Destination types that page: they send only episode openings and closings (see coordinator/alerts/episodes.ts). */
export const pagerTypes: ReadonlySet<AlertType> = new Set(["pagerduty", "opsgenie", "alertmanager"]);
