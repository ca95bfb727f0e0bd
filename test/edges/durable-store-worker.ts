/**
 * A test Worker for durable-store.test.ts: one SQLite-backed Durable Object that holds a
 * `DurableStore` and a `DurableOutbox` and runs one port method per request (`{op, args}` in, JSON
 * out), so their semantics are checked in workerd against the real `ctx.storage`.
 */
import type { NewOutboxEntry } from "../../coordinator/alerts/outbox.ts";
import { DurableOutbox } from "../../coordinator/alerts/outbox-durable.ts";
import { type DurableSqlStorage, DurableStore } from "../../coordinator/store/durable.ts";
import type { EventPruning } from "../../coordinator/store/prune.ts";
import { type Commit, ReplayError } from "../../coordinator/store/store.ts";

/** One call of a port method; the test sends what the method takes. */
export type StoreCall =
  | { op: "commit"; args: [Commit] }
  | { op: "commitMany"; args: [Commit[]] }
  | { op: "snapshot"; args: [] }
  | { op: "listEvents"; args: [{ sinceMs?: number; afterId?: number; limit?: number }] }
  | { op: "pruneReports"; args: [number, number?] }
  | { op: "pruneEvents"; args: [EventPruning] }
  | { op: "hasReport"; args: [string, string] }
  | { op: "outbox.add"; args: [NewOutboxEntry, number] }
  | { op: "outbox.initCursor" | "outbox.advanceCursor"; args: [string, number] }
  | { op: "outbox.cursors"; args: [] }
  | { op: "outbox.pending" | "outbox.lastCreated"; args: [string] }
  | { op: "outbox.takenEventIds"; args: [string, number] }
  | { op: "outbox.markSent"; args: [number, number] }
  | { op: "outbox.reschedule"; args: [number, { nextAt: number; attempts: number; error: string }] }
  | { op: "outbox.markFailed"; args: [number, { attempts: number; error: string }] }
  | { op: "outbox.list"; args: [string?] }
  | { op: "outbox.prune"; args: [number, number?] };

/** The Durable Object under test. */
export class StoreObject {
  readonly #store: DurableStore;
  readonly #outbox: DurableOutbox;

  constructor(state: { storage: DurableSqlStorage }) {
    this.#store = new DurableStore(state.storage);
    this.#outbox = new DurableOutbox(state.storage);
  }

  async fetch(request: Request): Promise<Response> {
    const call = (await request.json()) as StoreCall; // sent by the test, typed by the same union
    try {
      return Response.json({ ok: true, value: (await this.#run(call)) ?? null });
    } catch (error) {
      const name = error instanceof Error ? error.name : "unknown";
      return Response.json({ ok: false, name, message: String(error) });
    }
  }

  async #run(call: StoreCall): Promise<unknown> {
    const store = this.#store;
    const outbox = this.#outbox;
    switch (call.op) {
      case "commit":
        return store.commit(...call.args);
      case "commitMany":
        return (await store.commitMany(...call.args)).map((outcome) =>
          outcome instanceof ReplayError ? { replay: outcome.message } : outcome,
        );
      case "snapshot":
        return store.snapshot();
      case "listEvents":
        return store.listEvents(...call.args);
      case "pruneReports":
        return store.pruneReports(...call.args);
      case "pruneEvents":
        return store.pruneEvents(...call.args);
      case "hasReport":
        return store.hasReport(...call.args);
      case "outbox.add":
        return outbox.add(...call.args);
      case "outbox.initCursor":
        return outbox.initCursor(...call.args);
      case "outbox.advanceCursor":
        return outbox.advanceCursor(...call.args);
      case "outbox.cursors":
        return Object.fromEntries(await outbox.cursors());
      case "outbox.pending":
        return outbox.pending(...call.args);
      case "outbox.lastCreated":
        return Object.fromEntries(await outbox.lastCreated(...call.args));
      case "outbox.takenEventIds":
        return [...(await outbox.takenEventIds(...call.args))].sort((a, b) => a - b);
      case "outbox.markSent":
        return outbox.markSent(...call.args);
      case "outbox.reschedule":
        return outbox.reschedule(...call.args);
      case "outbox.markFailed":
        return outbox.markFailed(...call.args);
      case "outbox.list":
        return outbox.list(...call.args);
      case "outbox.prune":
        return outbox.prune(...call.args);
    }
  }
}

interface Env {
  STORE: {
    idFromName(name: string): unknown;
    get(id: unknown): { fetch(request: Request): Promise<Response> };
  };
}

// A default export because the Workers runtime finds a module Worker's handlers there.
export default {
  fetch(request: Request, env: Env): Promise<Response> {
    return env.STORE.get(env.STORE.idFromName("store")).fetch(request);
  },
};
