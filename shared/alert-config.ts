/** Config schema for `alerts[]` (CONTRACT §3); each destination names env variables, never secrets. */
import { z } from "zod";

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
] as const;

export const alertSchema = z.looseObject({
  type: z.enum(alertTypes),
  name: z.string().min(1).optional(),
  urlEnv: z.string().min(1).optional(),
  secretEnv: z.string().min(1).optional(),
});
/** One alert destination as written in the config. */
export type AlertConfig = z.infer<typeof alertSchema>;
