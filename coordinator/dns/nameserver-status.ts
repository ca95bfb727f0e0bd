/** The nameserver watch as `/v1/status` shows it: `serving` per provider and router, and the watch's own state. */
import type { ServiceStatus, StatusView } from "../../shared/api-schema.ts";
import type { ProviderNameservers, ServingState } from "./nameserver-watch.ts";

/** What status reads from the watch (the Workers coordinator has none). */
export interface NameserverView {
  /** Set when checks are off on purpose; status shows it instead of the servers. */
  readonly off?: string;
  serving(): ServingState[];
  providers(): Record<string, ProviderNameservers>;
}

/** Why a coordinator without a watch shows no `serving`. */
export const NO_UDP_REASON =
  "This coordinator cannot send DNS queries (Workers have no UDP): run the Node coordinator to see what the providers' nameservers serve";

/** `{serving}` for one provider's row of one router, or nothing before the first check. */
export function servingOf(
  view: NameserverView | null,
  provider: string,
  router: string,
): { serving?: NonNullable<ServiceStatus["dns"][string]["serving"]> } {
  const state = view?.serving().find((s) => s.provider === provider && s.router === router);
  if (!state) return {};
  return {
    serving: {
      values: state.values,
      matches: state.matches,
      lagging: state.lagging,
      checkedAt: new Date(state.checkedAt).toISOString(),
      nameservers: state.servers.map((s) => ({
        server: s.server,
        ...(s.values !== undefined ? { values: s.values } : {}),
        ...(s.rcode !== undefined ? { rcode: s.rcode } : {}),
        ...(s.error !== undefined ? { error: s.error } : {}),
      })),
    },
  };
}

/** The top-level `nameservers` of `/v1/status`. */
export function nameserverStatus(view: NameserverView | null): NonNullable<StatusView["nameservers"]> {
  if (!view) return { checking: false, reason: NO_UDP_REASON, providers: {} };
  if (view.off !== undefined) return { checking: false, reason: view.off, providers: {} };
  const providers: NonNullable<StatusView["nameservers"]>["providers"] = {};
  for (const [name, p] of Object.entries(view.providers())) {
    providers[name] = {
      servers: p.servers,
      queries: p.queries,
      queryErrors: p.queryErrors,
      ...(p.error !== undefined ? { error: p.error } : {}),
    };
  }
  return { checking: true, providers };
}
