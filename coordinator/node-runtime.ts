/** Node-only plumbing for the coordinator's entry: binding the port first, and one coordinator per data dir. */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ServerType, serve } from "@hono/node-server";

/** The port could not be bound; nothing else was started. */
export class ListenError extends Error {}

/** The data directory belongs to another live coordinator; exit code 2. */
export class DataDirInUseError extends Error {}

/** A bound server whose handler is set once the coordinator is ready (503 JSON until then). */
export interface BoundServer {
  server: ServerType;
  port: number;
  setHandler(handler: (request: Request) => Response | Promise<Response>): void;
  close(): Promise<void>;
}

/** Binds `host:port` before anything else runs, so a taken port fails fast with a clear message. */
export function bindServer(host: string, port: number): Promise<BoundServer> {
  let handler = (_request: Request): Response | Promise<Response> =>
    Response.json({ error: { code: "starting", message: "The coordinator is starting" } }, { status: 503 });
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: (request) => handler(request), hostname: host, port }, (info) => {
      server.off("error", onError);
      resolve({
        server,
        port: info.port,
        setHandler: (next) => {
          handler = next;
        },
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
    const onError = (error: NodeJS.ErrnoException) =>
      reject(new ListenError(`Cannot listen on ${host}:${port}: ${error.code ?? error.message}`));
    server.once("error", onError);
  });
}

/**
 * Takes `DIR/coordinator.pid` for this process: refused while another live process holds it, taken
 * over when its process is gone (after a crash or `kill -9`). Returns the release function.
 */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "coordinator.pid");
  let holder: number | null = null;
  try {
    holder = Number(readFileSync(file, "utf8").trim()) || null;
  } catch {
    // no lock file: the directory is free
  }
  if (holder !== null && holder !== process.pid && isAlive(holder)) {
    throw new DataDirInUseError(
      `Data directory "${dir}" is in use by the coordinator with PID ${holder}: stop it, or give this one another --data`,
    );
  }
  writeFileSync(file, `${process.pid}\n`);
  return () => {
    try {
      if (Number(readFileSync(file, "utf8").trim()) === process.pid) rmSync(file);
    } catch {
      // already gone
    }
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // it exists, owned by someone else
  }
}
