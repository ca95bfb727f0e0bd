/** Node-only plumbing for the coordinator's entry: binding the port first, and one coordinator per data dir. */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ServerType, serve } from "@hono/node-server";
import Database from "better-sqlite3";

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
 * Claims `dir` for this process with a lock the kernel releases when the process dies, however it
 * dies: SQLite's exclusive locking mode on `DIR/coordinator.lock` (a POSIX record lock underneath).
 * A crashed, `kill -9`ed or zombie coordinator, or a PID reused after a reboot, never blocks a start;
 * a live coordinator on `dir` is refused with DataDirInUseError. `DIR/coordinator.pid` only names the
 * holder in that message. Returns the release function.
 */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const pidFile = join(dir, "coordinator.pid");
  const db = new Database(join(dir, "coordinator.lock"), { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    // The first write takes the EXCLUSIVE lock, and in this mode it is kept until the connection closes.
    db.exec("BEGIN EXCLUSIVE");
    db.exec("CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since TEXT NOT NULL)");
    db.prepare("INSERT INTO holder (pid, since) VALUES (?, ?)").run(process.pid, new Date().toISOString());
    db.exec("DELETE FROM holder WHERE rowid NOT IN (SELECT max(rowid) FROM holder)");
    db.exec("COMMIT");
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code?.startsWith("SQLITE_BUSY")) throw inUse(dir, pidFile); // better-sqlite3's SqliteError
    throw error;
  }
  writeFileSync(pidFile, `${process.pid}\n`);
  return () => {
    try {
      if (Number(readFileSync(pidFile, "utf8").trim()) === process.pid) rmSync(pidFile);
    } catch {
      // already gone
    }
    db.close();
  };
}

function inUse(dir: string, pidFile: string): DataDirInUseError {
  let holder: number | null = null;
  try {
    holder = Number(readFileSync(pidFile, "utf8").trim()) || null;
  } catch {
    // removed by someone: the lock still holds, only the name is unknown
  }
  const who = holder === null ? "another coordinator" : `the coordinator with PID ${holder}`;
  return new DataDirInUseError(
    `Data directory "${dir}" is in use by ${who}: stop it, or give this one another --data`,
  );
}
