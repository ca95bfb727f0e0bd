/** The part of the Workers runtime module `cloudflare:workers` the coordinator Worker uses. */
declare module "cloudflare:workers" {
  /** The Worker's bindings, readable at module scope (so work done there counts as startup). */
  export const env: Record<string, unknown>;
}
