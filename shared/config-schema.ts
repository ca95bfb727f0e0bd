/** The zod schema of `healthmesh.yaml` (CONTRACT §3) and its inferred types. */
import { z } from "zod";
import { alertSchema } from "./alert-config.ts";
import { parseDuration } from "./duration.ts";
import { addressValue, formatRouterValue } from "./router-value.ts";
import { MAX_SKEW_SECONDS } from "./signing.ts";

/** A duration written as `500ms`, `10s`, `5m` (or a number of milliseconds), parsed into milliseconds. */
function duration(min = 0) {
  return z.union([z.string(), z.number()]).transform((value, ctx) => {
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message }); // parseDuration throws only RangeError
      return z.NEVER;
    }
    if (ms < min) {
      ctx.addIssue({ code: "custom", message: `Duration "${value}" is below the minimum of ${min} ms` });
      return z.NEVER;
    }
    return ms;
  });
}

const label = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
const relativeName = z
  .string()
  .regex(new RegExp(`^(?:@|\\*|(?:\\*\\.)?${label}(?:\\.${label})*)$`, "i"), {
    message: 'Must be a name relative to the zone, such as "www" or "web-router" ("@" for the apex)',
  })
  .transform((name) => name.toLowerCase());
const hostname = z
  .string()
  .regex(new RegExp(`^${label}(?:\\.${label})*\\.?$`, "i"), { message: "Must be a host name" })
  .transform((name) => (name.endsWith(".") ? name.toLowerCase() : `${name.toLowerCase()}.`));
const httpUrl = z.url({ protocol: /^https?$/, message: "Must be an http:// or https:// URL" });
const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "Must be an environment variable name" });
const ttl = z.number().int().min(1).max(86_400);

const checkSchema = z.strictObject({
  url: httpUrl,
  expectStatus: z.array(z.number().int().min(100).max(599)).min(1).default([200]),
  bodyContains: z.string().min(1).optional(),
  timeout: duration(1).default(5000),
  degradedAfter: duration(1).optional(),
});

const ipAddress = z.union([z.ipv4(), z.ipv6()], { message: "Must be an IPv4 or IPv6 address" });
/**
 * A path: a CNAME `target`, or `addresses` (IPv4 and/or IPv6) for an address router (CONTRACT §3).
 * After parsing, `target` always holds the router value in its one string form (shared/router-value.ts).
 */
const pathSchema = z
  .strictObject({
    target: hostname.optional(),
    addresses: z.array(ipAddress).min(1).optional(),
    check: checkSchema,
  })
  .transform((path, ctx) => {
    if ((path.target === undefined) === (path.addresses === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["target"],
        message:
          "Give either target (a host name the router CNAME points to) or addresses (IPv4/IPv6 for an A/AAAA router), not both and not neither",
      });
      return z.NEVER;
    }
    const target = path.addresses ? formatRouterValue(addressValue(path.addresses)) : (path.target ?? "");
    return { ...path, target };
  });
const providerOverride = z.strictObject({ ttl: ttl.optional() });

const serviceSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, { message: "Must be letters, digits, - and _" }),
  router: relativeName,
  ttl: ttl.default(60),
  primary: pathSchema,
  secondary: pathSchema,
  failAfter: z.number().int().min(1).default(3),
  recoverAfter: z.number().int().min(1).default(6),
  autoFailback: z.boolean().default(true),
  holdDown: duration(0).default(300_000),
  cloudflare: providerOverride.optional(),
  desec: providerOverride.optional(),
  powerdns: providerOverride.optional(),
  memory: providerOverride.optional(),
});

const providerTuning = {
  timeout: duration(1).default(10_000),
  maxBackoff: duration(1).default(30_000),
  /** The provider's authoritative nameservers (`host` or `host:port`), asked directly; found from the provider when absent. */
  nameservers: z.array(z.string().min(1)).min(1).optional(),
};

const providersSchema = z
  .strictObject({
    cloudflare: z
      .strictObject({
        tokenEnv: envName,
        zoneId: z
          .string()
          .regex(/^[0-9a-f]{32}$/, { message: "Must be the 32-hex-digit zone ID" })
          .optional(),
        apiBase: httpUrl.default("https://api.cloudflare.com/client/v4"),
        ...providerTuning,
      })
      .optional(),
    desec: z
      .strictObject({
        tokenEnv: envName,
        apiBase: httpUrl.default("https://desec.io/api/v1"),
        ...providerTuning,
      })
      .optional(),
    powerdns: z
      .strictObject({
        apiBase: httpUrl,
        apiKeyEnv: envName,
        server: z.string().min(1).default("localhost"),
        ...providerTuning,
      })
      .optional(),
    /** An in-process provider for demos and tests; it forgets everything when the coordinator stops. */
    memory: z.strictObject({ ...providerTuning }).optional(),
  })
  .refine((providers) => Object.values(providers).some((p) => p !== undefined), {
    message: "Name at least one DNS provider (cloudflare, desec, powerdns)",
  });

const recordValue = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
const recordTypes = z.enum(["A", "AAAA", "CNAME", "TXT", "MX", "CAA", "SRV", "NS"]);
const recordOverride = z.strictObject({
  type: recordTypes.optional(),
  value: recordValue.optional(),
  ttl: ttl.optional(),
  proxied: z.boolean().optional(),
});

const recordSchema = z.strictObject({
  name: relativeName,
  type: recordTypes,
  value: recordValue,
  ttl: ttl.default(300),
  cloudflare: recordOverride.optional(),
  desec: recordOverride.optional(),
  powerdns: recordOverride.optional(),
  memory: recordOverride.optional(),
});

const memberSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/i, { message: "Must be letters, digits, ., - and _" }),
  provider: z.string().min(1),
  region: z.string().min(1).default("unknown"),
  mode: z.enum(["push", "pull"]).default("push"),
  url: httpUrl.optional(),
  secretEnv: envName,
});

const probesSchema = z.strictObject({
  interval: duration(500).default(10_000),
  quorum: z.enum(["majority", "providers"]).default("majority"),
  members: z.array(memberSchema).min(1),
  canaries: z.array(httpUrl).default([]),
  pullTimeout: duration(1).optional(),
  /** Fast confirmation: re-check a failed endpoint this long after its check ended (default interval / 4; 0s off). */
  confirmInterval: duration(0).optional(),
  /** The most endpoints one probe confirms at once (default 16). */
  maxConfirming: z.number().int().min(1).optional(),
});

/** `coordinator.ha` (CONTRACT §8): this member of a coordinator cluster over etcd's v3 API. */
const haSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,62})$/i, { message: 'Must be a short name such as "coord-hel"' }),
  url: httpUrl,
  etcd: z.strictObject({
    endpoints: z.array(httpUrl).min(1),
    prefix: z
      .string()
      .regex(/^\/(?:.*\/)?$/, { message: 'Must start and end with "/", e.g. "/healthmesh/prod/"' })
      .default("/healthmesh/"),
    leaseTtl: duration(1000)
      .refine((ms) => ms % 1000 === 0, { message: "etcd leases are whole seconds: use e.g. 10s" })
      .default(10_000),
    requestTimeout: duration(1).optional(),
    usernameEnv: envName.optional(),
    passwordEnv: envName.optional(),
  }),
});

/** A named user of the operator API (CONTRACT §3): `read` sees, `operate` also switches, pauses, resumes. */
const operatorSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, {
    message: 'Must be a short name such as "alice" or "ci-bot" (letters, digits, ".", "_", "@", "-")',
  }),
  tokenEnv: envName,
  role: z.enum(["read", "operate"]).default("read"),
});

const operatorsSchema = z.array(operatorSchema).superRefine((operators, ctx) => {
  const seen = new Set<string>();
  for (const [i, operator] of operators.entries()) {
    if (seen.has(operator.name))
      ctx.addIssue({
        code: "custom",
        path: [i, "name"],
        message: `Duplicate operator name "${operator.name}"`,
      });
    seen.add(operator.name);
  }
});

/**
 * A signed report is accepted while its timestamp is within the skew of the coordinator's clock on
 * either side, so a captured report can be replayed for up to twice the skew after it was accepted.
 */
const MIN_REPORT_IDS_MS = 2 * MAX_SKEW_SECONDS * 1000;

/** `coordinator.retention`: how long the store keeps what grows with time; pruned in the background. */
const retentionSchema = z.strictObject({
  /** The audit log (`GET /v1/events`, the status page's history); an event alerting still needs is kept longer. */
  events: duration(60_000).default(90 * 86_400_000),
  /** Accepted report ids (replay refusal, CONTRACT §5). */
  reportIds: duration(0)
    .refine((ms) => ms >= MIN_REPORT_IDS_MS, {
      message: `Keep report ids at least ${MIN_REPORT_IDS_MS / 1000}s: a signed report is accepted up to ${MAX_SKEW_SECONDS}s either side of the coordinator's clock, so a shorter retention lets a captured report be replayed`,
    })
    .default(600_000),
  /** Delivered and dropped alert messages (the outbox); pending ones are kept until they are settled. */
  alerts: duration(60_000).default(7 * 86_400_000),
});

const coordinatorSchema = z.strictObject({
  apiTokenEnv: envName.default("HEALTHMESH_API_TOKEN"),
  /** Named operator tokens with roles; the audit log's `actor` is the name. */
  operators: operatorsSchema.optional(),
  publicStatusPage: z.boolean().default(false),
  /** `/metrics` is open by default (CONTRACT §6 puts only /v1 behind the token); true requires the bearer token. */
  protectMetrics: z.boolean().default(false),
  publicUrl: httpUrl.optional(),
  ha: haSchema.optional(),
  retention: retentionSchema.prefault({}),
});

/** How the coordinator asks the providers' own nameservers what the world sees (CONTRACT §4a). */
const nameserverChecksSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Steady-state check of every router on every provider's nameservers. */
  interval: duration(1000).default(60_000),
  /** How long nameservers may serve the old answer after the API accepted a write before `dns.lagging`. */
  lagAfter: duration(0).default(60_000),
  /** Per question. */
  timeout: duration(1).default(2000),
  /** The parent zone's nameservers (`host` or `host:port`) for the DS lookup of `healthmesh doctor`. */
  parent: z.array(z.string().min(1)).min(1).optional(),
});

export const configSchema = z.strictObject({
  zone: hostname.transform((zone) => zone.slice(0, -1)),
  providers: providersSchema,
  // `records:` with nothing after it is YAML null: "may be empty or absent" covers it too.
  records: z
    .array(recordSchema)
    .nullish()
    .transform((records) => records ?? []),
  services: z.array(serviceSchema).min(1),
  probes: probesSchema,
  alerts: z
    .array(alertSchema)
    .nullish()
    .transform((alerts) => alerts ?? []),
  nameserverChecks: nameserverChecksSchema.prefault({}),
  coordinator: coordinatorSchema.prefault({}),
});

/** A validated config, with defaults filled in and durations in milliseconds. */
export type Config = z.infer<typeof configSchema>;
/** One service of a validated config. */
export type ServiceConfig = Config["services"][number];
/** One probe member of a validated config. */
export type ProbeMember = Config["probes"]["members"][number];
/** One declared record of a validated config. */
export type RecordConfig = Config["records"][number];
/** The names of the DNS providers a config can declare. */
export type ProviderName = keyof Config["providers"];
export const providerNames = [
  "cloudflare",
  "desec",
  "powerdns",
  "memory",
] as const satisfies readonly ProviderName[];
