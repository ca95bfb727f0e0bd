/**
 * The status page polls less while its tab is hidden: each poll is a billed request on a Workers
 * coordinator, and a tab left open in the background would otherwise poll every 2 s all day. The
 * page script runs here in a bare VM context with a stand-in document, so only its timers are judged
 * (the browser test in test/ui covers what it draws).
 */
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { PAGE_SCRIPT } from "../../coordinator/ui/page-script.ts";

/** An object that accepts any property read, write or call: a stand-in for every DOM node the script touches. */
function anything(): unknown {
  const target = () => {};
  const proxy: unknown = new Proxy(target, {
    get: (_, key) => (key === Symbol.toPrimitive ? () => "" : key === "then" ? undefined : proxy),
    set: () => true,
    apply: () => proxy,
  });
  return proxy;
}

/** Runs the page script with a document in the given visibility; returns the delays it asked timers for. */
async function pollDelays(visibility: "visible" | "hidden") {
  const delays: number[] = [];
  const listeners: Record<string, () => void> = {};
  const document = {
    visibilityState: visibility,
    getElementById: anything,
    createElement: anything,
    createElementNS: anything,
    createTextNode: anything,
    addEventListener: (type: string, listener: () => void) => (listeners[type] = listener),
  };
  const count = { fetches: 0 };
  runInNewContext(PAGE_SCRIPT, {
    document,
    location: { hash: "" },
    sessionStorage: { getItem: () => null, setItem: () => {} },
    // The coordinator is unreachable: the script's offline path schedules the next poll.
    fetch: () => {
      count.fetches++;
      return Promise.reject(new Error("offline"));
    },
    setTimeout: (_: () => void, ms: number) => delays.push(ms),
    clearTimeout: () => {},
    Date,
    Math,
    JSON,
    Number,
    String,
    Object,
    Array,
  });
  await new Promise((resolve) => setImmediate(resolve));
  return { delays, count, show: listeners.visibilitychange, document };
}

describe("the status page's polling", () => {
  it("polls every 2 s while visible", async () => {
    const { delays, count } = await pollDelays("visible");
    expect(count.fetches).toBe(1);
    expect(delays).toEqual([2000]);
  });

  it("backs off to once a minute while hidden, and polls at once when shown again", async () => {
    const page = await pollDelays("hidden");
    expect(page.delays).toEqual([60_000]);
    page.document.visibilityState = "visible";
    page.show?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(page.count.fetches).toBe(2);
    expect(page.delays).toEqual([60_000, 2000]);
  });
});
