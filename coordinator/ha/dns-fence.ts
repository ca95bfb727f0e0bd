/**
 * The fence on DNS writes. Neither Cloudflare nor deSEC has conditional writes, so the only fence is
 * ours, applied to every provider request at the one place they all pass — the injected `fetch`:
 * no request leaves unless this member leads; a write is preceded by a linearizable re-check of the
 * leader key, aborted at the leader's deadline (not merely abandoned), and checked again after.
 */

import type { Fence } from "./leadership.ts";

/** The request header that carries `LEADER_REVISION/DECISION` to the provider (stand-ins record it). */
export const FENCE_HEADER = "x-healthmesh-fence";

/** A request refused or cut short by the fence; a provider client reports it as a network fault. */
export class FencedOutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FencedOutError";
  }
}

/** What the fence asks of the leadership. */
export interface FenceSource {
  /** The fence while this member leads and its deadline has not passed (no I/O). */
  current(): Fence | null;
  /** The same after a linearizable read of the leader key. */
  confirm(): Promise<Fence | null>;
}

/** Wraps a provider's `fetch` so every request is fenced; `decision` gives the ledger's decision number. */
export function fencedFetch(inner: typeof fetch, source: FenceSource, decision: () => number): typeof fetch {
  return async (input, init) => {
    const write = (init?.method ?? "GET").toUpperCase() !== "GET";
    const fence = write ? await source.confirm() : source.current();
    if (!fence)
      throw new FencedOutError("Not sending a DNS request: this coordinator does not lead the cluster");
    const headers = new Headers(init?.headers);
    headers.set(FENCE_HEADER, `${fence.revision}/${decision()}`);
    const response = await inner(input, { ...init, headers, signal: both(init?.signal, fence.signal) });
    if (write && source.current()?.revision !== fence.revision) {
      // The answer came back after the deadline: the write may have landed, but a successor owns the record now.
      throw new FencedOutError(
        "A DNS write finished after this coordinator's leadership ended; the new leader re-reads",
      );
    }
    return response;
  };
}

function both(a: AbortSignal | null | undefined, b: AbortSignal): AbortSignal {
  if (!a) return b;
  const controller = new AbortController();
  const abort = (signal: AbortSignal) => () => controller.abort(signal.reason);
  if (a.aborted || b.aborted) controller.abort(a.aborted ? a.reason : b.reason);
  a.addEventListener("abort", abort(a), { once: true });
  b.addEventListener("abort", abort(b), { once: true });
  return controller.signal;
}
