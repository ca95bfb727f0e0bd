/** Builds the configured DNS providers (Node and Workers alike); secrets come from the environment. */
import type { Clock } from "../../shared/clock.ts";
import type { Config } from "../../shared/config-schema.ts";
import { MemoryDnsProvider } from "./memory.ts";
import type { DnsProvider } from "./provider.ts";

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

/** One provider per configured key, in config order. */
export function createProviders(config: Config, world: ProviderWorld): DnsProvider[] {
  const providers: DnsProvider[] = [];
  if (config.providers.cloudflare) {
    throw new ProviderSetupError("The Cloudflare provider is not built yet", "providers.cloudflare");
  }
  if (config.providers.desec) {
    throw new ProviderSetupError("The deSEC provider is not built yet", "providers.desec");
  }
  if (config.providers.powerdns) {
    throw new ProviderSetupError("The PowerDNS provider is not built yet", "providers.powerdns");
  }
  if (config.providers.memory) providers.push(new MemoryDnsProvider("memory"));
  void world;
  return providers;
}
