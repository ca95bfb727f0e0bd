/** Loopback HTTP servers for the demo and tests: origins that can be taken down, and a webhook sink. */
import { type ServerType, serve } from "@hono/node-server";
import { Hono } from "hono";

/** A loopback server with its URL. */
export interface Loopback {
  url: string;
  close(): Promise<void>;
}

/** Serves a Hono app on 127.0.0.1 and an ephemeral port. */
export async function serveLoopback(app: Hono, port = 0): Promise<Loopback> {
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port }, () => resolve(s));
  });
  const address = server.address();
  const bound = typeof address === "object" && address ? address.port : port;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        if ("closeAllConnections" in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An origin whose `/healthz` answers `200 ok` while up and `503` while down. */
export interface Origin extends Loopback {
  up: boolean;
  hits: number;
}

/** Starts an origin that is up. */
export async function startOrigin(name: string): Promise<Origin> {
  const state = { up: true, hits: 0 };
  const app = new Hono();
  app.get("/healthz", (c) => {
    state.hits++;
    return state.up ? c.text(`ok from ${name}`) : c.text(`${name} is down`, 503);
  });
  const server = await serveLoopback(app);
  return Object.assign(state, server);
}

/** A webhook sink that keeps every JSON body it receives. */
export interface Sink extends Loopback {
  received: { path: string; headers: Record<string, string>; body: unknown }[];
}

/** Starts a webhook sink answering 200 to every POST. */
export async function startSink(): Promise<Sink> {
  const received: Sink["received"] = [];
  const app = new Hono();
  app.post("*", async (c) => {
    const text = await c.req.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep raw text bodies (ntfy)
    }
    received.push({ path: c.req.path, headers: Object.fromEntries(c.req.raw.headers), body });
    return c.text("ok");
  });
  const server = await serveLoopback(app);
  return Object.assign(server, { received });
}
