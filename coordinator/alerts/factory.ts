/** Builds one sender and its route per configured alert destination; secrets come from the environment. */
import { type AlertConfig, defaultRateLimits, type Severity } from "../../shared/alert-config.ts";
import type { Config } from "../../shared/config-schema.ts";
import { AlertmanagerSender } from "./alertmanager.ts";
import { DiscordSender } from "./discord.ts";
import { GoogleChatSender } from "./google-chat.ts";
import { MatrixSender } from "./matrix.ts";
import { MattermostSender } from "./mattermost.ts";
import { NtfySender } from "./ntfy.ts";
import { OPSGENIE_BASES, OpsgenieSender } from "./opsgenie.ts";
import { PagerDutySender } from "./pagerduty.ts";
import type { AlertSender, SenderWorld } from "./sender.ts";
import { SlackSender } from "./slack.ts";
import { TeamsSender } from "./teams.ts";
import { TelegramSender } from "./telegram.ts";
import { WebhookSender } from "./webhook.ts";

/** Which events go to a destination, and how they are paced. */
export interface Route {
  /** Event types routed here; null means every alerting type. */
  events: ReadonlySet<string> | null;
  minSeverity: Severity;
  groupWaitMs: number;
  repeatIntervalMs: number;
  rateLimit: { messages: number; perMs: number };
}

/** A destination ready to send, or why it cannot be built (a missing env variable, a bad secret). */
export type Destination =
  | { ok: true; name: string; sender: AlertSender; route: Route }
  | { ok: false; name: string; type: AlertConfig["type"]; path: string; message: string };

/** The destination names: `name`, else the type (suffixed with the index when a type repeats). */
export function destinationNames(alerts: readonly AlertConfig[]): string[] {
  return alerts.map((a, i) => {
    if (a.name) return a.name;
    return alerts.filter((b) => b.type === a.type && !b.name).length > 1 ? `${a.type}-${i}` : a.type;
  });
}

class MissingEnv extends Error {}

function build(
  alert: AlertConfig,
  name: string,
  env: (n: string) => string | undefined,
  world: SenderWorld,
): AlertSender {
  const need = (key: string, variable: string): string => {
    const value = env(variable);
    if (!value) throw new MissingEnv(`set ${variable} (${key})`);
    return value;
  };
  switch (alert.type) {
    case "slack":
      return new SlackSender(name, need("urlEnv", alert.urlEnv), world);
    case "discord":
      return new DiscordSender(name, need("urlEnv", alert.urlEnv), world);
    case "teams":
      return new TeamsSender(name, need("urlEnv", alert.urlEnv), world);
    case "mattermost":
      return new MattermostSender(name, need("urlEnv", alert.urlEnv), world, {
        ...(alert.channel ? { channel: alert.channel } : {}),
        ...(alert.username ? { username: alert.username } : {}),
      });
    case "googlechat":
      return new GoogleChatSender(name, need("urlEnv", alert.urlEnv), world);
    case "matrix":
      return new MatrixSender(
        name,
        { homeserver: alert.homeserver, room: alert.room, token: need("tokenEnv", alert.tokenEnv) },
        world,
      );
    case "ntfy":
      return new NtfySender(
        name,
        need("urlEnv", alert.urlEnv),
        alert.tokenEnv ? need("tokenEnv", alert.tokenEnv) : undefined,
        world,
      );
    case "telegram":
      return new TelegramSender(
        name,
        {
          apiBase: alert.apiBase,
          token: need("tokenEnv", alert.tokenEnv),
          chatId: alert.chatId,
          ...(alert.threadId !== undefined ? { threadId: alert.threadId } : {}),
        },
        world,
      );
    case "webhook":
      return new WebhookSender(
        name,
        need("urlEnv", alert.urlEnv),
        alert.secretEnv ? need("secretEnv", alert.secretEnv) : undefined,
        world,
      );
    case "pagerduty":
      return new PagerDutySender(
        name,
        { apiBase: alert.apiBase, routingKey: need("routingKeyEnv", alert.routingKeyEnv) },
        world,
      );
    case "opsgenie":
      return new OpsgenieSender(
        name,
        {
          apiBase: alert.apiBase ?? OPSGENIE_BASES[alert.region],
          apiKey: need("apiKeyEnv", alert.apiKeyEnv),
        },
        world,
      );
    case "alertmanager": {
      let authorization: string | undefined;
      if (alert.tokenEnv) authorization = `Bearer ${need("tokenEnv", alert.tokenEnv)}`;
      else if (alert.usernameEnv || alert.passwordEnv) {
        if (!alert.usernameEnv || !alert.passwordEnv)
          throw new Error("basic auth needs both usernameEnv and passwordEnv");
        const user = need("usernameEnv", alert.usernameEnv);
        const password = need("passwordEnv", alert.passwordEnv);
        authorization = `Basic ${btoa(`${user}:${password}`)}`;
      }
      return new AlertmanagerSender(
        name,
        {
          urls: alert.urls,
          resendIntervalMs: alert.resendInterval,
          ...(authorization ? { authorization } : {}),
        },
        world,
      );
    }
  }
}

/** One `Destination` per entry of `config.alerts`, in config order; never throws for a bad entry. */
export function createDestinations(
  config: Config,
  options: { env: (name: string) => string | undefined; world: SenderWorld },
): Destination[] {
  const names = destinationNames(config.alerts);
  return config.alerts.map((alert, i) => {
    const name = names[i] ?? alert.type;
    try {
      const sender = build(alert, name, options.env, options.world);
      const limit = alert.rateLimit ?? defaultRateLimits[alert.type];
      const route: Route = {
        events: alert.events ? new Set(alert.events) : null,
        minSeverity: alert.minSeverity,
        groupWaitMs: alert.groupWait,
        repeatIntervalMs: alert.repeatInterval,
        rateLimit: { messages: limit.messages, perMs: limit.per },
      };
      return { ok: true, name, sender, route };
    } catch (error) {
      const detail =
        error instanceof MissingEnv ? `missing secret: ${error.message}` : (error as Error).message; // build throws only Error subclasses
      return {
        ok: false,
        name,
        type: alert.type,
        path: `alerts[${i}]`,
        message: `Cannot set up alert "${name}" (${alert.type}): ${detail}`,
      };
    }
  });
}
