/** A tiny DNS client over UDP (node:dgram): asks one question, returns the answer records' data as text. */
import { createSocket } from "node:dgram";

const TYPES: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, TXT: 16 };

/** Sends `name TYPE` to `127.0.0.1:port`; resolves to the answer section (CNAME data as FQDN with a trailing dot). */
export function queryDns(
  port: number,
  name: string,
  type: "A" | "CNAME",
  timeoutMs = 2000,
): Promise<string[]> {
  const id = Math.floor(Math.random() * 65_535);
  const labels = name.replace(/\.$/, "").split(".");
  const question = Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "ascii")])),
    Buffer.from([0, 0, TYPES[type] ?? 1, 0, 1]),
  ]);
  const header = Buffer.from([id >> 8, id & 255, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const socket = createSocket("udp4");
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`No DNS answer from 127.0.0.1:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("message", (msg) => {
      clearTimeout(timer);
      socket.close();
      try {
        resolve(parseAnswers(msg));
      } catch (error) {
        reject(error);
      }
    });
    socket.send(Buffer.concat([header, question]), port, "127.0.0.1");
  });
}

function readName(msg: Buffer, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let at = start;
  let next = -1;
  for (let hops = 0; hops < 64; hops++) {
    const len = msg[at] ?? 0;
    if (len === 0) {
      return { name: `${labels.join(".")}.`, next: next === -1 ? at + 1 : next };
    }
    if ((len & 0xc0) === 0xc0) {
      if (next === -1) next = at + 2;
      at = ((len & 0x3f) << 8) | (msg[at + 1] ?? 0);
      continue;
    }
    labels.push(msg.subarray(at + 1, at + 1 + len).toString("ascii"));
    at += len + 1;
  }
  throw new Error("Malformed DNS name");
}

function parseAnswers(msg: Buffer): string[] {
  const rcode = (msg[3] ?? 0) & 0x0f;
  if (rcode !== 0) throw new Error(`DNS answer with rcode ${rcode}`);
  const qd = msg.readUInt16BE(4);
  const an = msg.readUInt16BE(6);
  let at = 12;
  for (let i = 0; i < qd; i++) at = readName(msg, at).next + 4;
  const out: string[] = [];
  for (let i = 0; i < an; i++) {
    at = readName(msg, at).next;
    const type = msg.readUInt16BE(at);
    const length = msg.readUInt16BE(at + 8);
    const data = at + 10;
    if (type === TYPES.CNAME) out.push(readName(msg, data).name);
    else if (type === TYPES.A) out.push([...msg.subarray(data, data + 4)].join("."));
    at = data + length;
  }
  return out;
}
