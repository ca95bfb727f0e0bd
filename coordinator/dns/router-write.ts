/**
 * The one write path of router changes: a batch (Cloudflare) or bulk PATCH (deSEC, PowerDNS) is
 * all-or-nothing, so a permanent refusal of one item is isolated — by the positions the provider names,
 * or by halving the batch — and the rest is written anyway. Transient faults (5xx, 429, timeouts) are
 * thrown as they are: a retry of the whole round is right for those.
 */
import { DnsError } from "./errors.ts";
import type { RouterChange, ServedRouters } from "./provider.ts";

/** What a write achieved: the changes the provider accepted, each refused one with its reason, and what the answers say is served. */
export interface WriteOutcome {
  written: RouterChange[];
  refused: Map<string, DnsError>;
  /** Per written router, what the provider's answer says it now serves (absent: the answer did not say). */
  served: ServedRouters;
}

// biome-ignore lint/suspicious/noConfusingVoidType: the port's writeRouters, which may resolve with nothing
type Write = (changes: readonly RouterChange[]) => Promise<ServedRouters | void>;

/** Sends `changes` through `write`; permanent refusals are isolated to the items that cause them. */
export async function writeIsolating(changes: readonly RouterChange[], write: Write): Promise<WriteOutcome> {
  const outcome: WriteOutcome = { written: [], refused: new Map(), served: new Map() };
  await writePart([...changes], write, outcome);
  return outcome;
}

async function writePart(changes: RouterChange[], write: Write, outcome: WriteOutcome): Promise<void> {
  if (changes.length === 0) return;
  try {
    const served = await write(changes);
    outcome.written.push(...changes);
    for (const [name, record] of served ?? []) outcome.served.set(name, record);
    return;
  } catch (error) {
    if (!(error instanceof DnsError) || error.retryable) throw error;
    if (changes.length === 1) {
      outcome.refused.set((changes[0] as RouterChange).name, error); // length checked
      return;
    }
    const named = (error.items ?? []).filter((i) => i >= 0 && i < changes.length);
    if (named.length > 0 && named.length < changes.length) {
      // The provider named the items it refused (its message names them too): write the rest together.
      const refused = new Set(named);
      for (const i of named) outcome.refused.set((changes[i] as RouterChange).name, error); // i < length
      await writePart(
        changes.filter((_, i) => !refused.has(i)),
        write,
        outcome,
      );
      return;
    }
    const half = Math.ceil(changes.length / 2);
    await writePart(changes.slice(0, half), write, outcome);
    await writePart(changes.slice(half), write, outcome);
  }
}
