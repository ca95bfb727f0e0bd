/** Builds the configured DNS providers (Node and Workers alike); secrets come from the environment. */
import type { Clock } from "../../shared/clock.ts";
import type { Config } from "../../shared/config-schema.ts";
import { CloudflareDnsProvider } from "./cloudflare.ts";
import { DesecDnsProvider } from "./desec.ts";
import { MemoryDnsProvider } from "./memory.ts";
import { PowerDnsProvider } from "./powerdns.ts";
import type { DnsProvider, ZoneProvider } from "./provider.ts";

/** A provider cannot be built: a missing secret or an unsupported provider. */
export class ProviderSetupError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = "ProviderSetupError";
  }
}

/** What providers are built from. */
export interface ProviderWorld {
  env: (name: string) => string | undefined;
  fetch: typeof fetch;
  clock: Clock;
}

/** The API clients of the configured providers, by config key. */
export interface ProviderClients {
  cloudflare?: CloudflareDnsProvider;
  desec?: DesecDnsProvider;
  powerdns?: PowerDnsProvider;
  memory?: MemoryDnsProvider;
}

function secret(world: ProviderWorld, envName: string, path: string, what: string): string {
  const value = world.env(envName);
  if (!value)
    throw new ProviderSetupError(`Missing ${what}: set the environment variable ${envName} (${path})`, path);
  return value;
}

/** One API client per configured provider; throws `ProviderSetupError` when a secret is missing. */
export function createClients(config: Config, world: ProviderWorld): ProviderClients {
  const { cloudflare, desec, powerdns, memory } = config.providers;
  const base = { fetch: world.fetch, clock: world.clock };
  const clients: ProviderClients = {};
  if (cloudflare) {
    clients.cloudflare = new CloudflareDnsProvider({
      ...base,
      apiBase: cloudflare.apiBase,
      token: secret(world, cloudflare.tokenEnv, "providers.cloudflare.tokenEnv", "Cloudflare API token"),
      zone: config.zone,
      timeoutMs: cloudflare.timeout,
      ...(cloudflare.zoneId ? { zoneId: cloudflare.zoneId } : {}),
    });
  }
  if (desec) {
    clients.desec = new DesecDnsProvider({
      ...base,
      apiBase: desec.apiBase,
      token: secret(world, desec.tokenEnv, "providers.desec.tokenEnv", "deSEC token"),
      domain: config.zone,
      timeoutMs: desec.timeout,
    });
  }
  if (powerdns) {
    clients.powerdns = new PowerDnsProvider({
      ...base,
      apiBase: powerdns.apiBase,
      token: secret(world, powerdns.apiKeyEnv, "providers.powerdns.apiKeyEnv", "PowerDNS API key"),
      zone: config.zone,
      server: powerdns.server,
      timeoutMs: powerdns.timeout,
    });
  }
  if (memory) clients.memory = new MemoryDnsProvider("memory");
  return clients;
}

/** One router provider per configured key, in config order. */
export function createProviders(config: Config, world: ProviderWorld): DnsProvider[] {
  const clients = createClients(config, world);
  return [clients.cloudflare, clients.desec, clients.powerdns, clients.memory].filter(
    (p): p is NonNullable<typeof p> => p !== undefined,
  );
}

/** The zone-sync side of every configured provider that has a zone (the memory provider has none). */
export function createZoneProviders(config: Config, world: ProviderWorld): ZoneProvider[] {
  const clients = createClients(config, world);
  return [clients.cloudflare, clients.desec, clients.powerdns].filter(
    (p): p is NonNullable<typeof p> => p !== undefined,
  );
}
