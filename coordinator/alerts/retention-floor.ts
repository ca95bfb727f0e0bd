/** How far alerting has read the audit log: events after this point must outlive their retention. */
import type { Outbox } from "./outbox.ts";

/**
 * The highest audit event id alerting is done with: the pager episodes are folded past it, and every
 * configured destination (`lanes`: each one's `AlertDispatcher.doneThrough`) has either put it in a
 * message that was delivered or dropped, or passed it by. A destination that is down keeps the
 * events of its undelivered messages; one no longer configured holds nothing back. Nothing is done
 * with before the episodes' first save.
 */
export async function alertsDoneThrough(
  outbox: Pick<Outbox, "episodes" | "pending">,
  lanes: ReadonlyMap<string, number | null>,
): Promise<number> {
  let through = (await outbox.episodes()).cursor ?? 0;
  for (const [name, done] of lanes) {
    if (done !== null) through = Math.min(through, done);
    for (const entry of await outbox.pending(name))
      through = Math.min(through, Math.min(...entry.eventIds) - 1);
  }
  return through;
}
