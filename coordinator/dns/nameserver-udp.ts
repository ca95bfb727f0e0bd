/**
 * Node-only `NameserverClient`: one question per UDP datagram (no recursion desired), retried over TCP
 * when the answer comes back truncated. The wire format is dns-packet's, not ours.
 */
import { createSocket } from "node:dgram";
import { lookup, resolveNs } from "node:dns/promises";
import { connect, isIP } from "node:net";
import dnsPacket from "dns-packet";
import {
  type AnswerRecord,
  formatAddress,
  keyTag,
  type NameserverAddress,
  type NameserverAnswer,
  type NameserverClient,
  NameserverError,
  type QueryType,
} from "./nameserver.ts";

const RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];
/** EDNS buffer size advertised for DNSSEC questions (the DNS flag day 2020 value). */
const EDNS_SIZE = 1232;

/** Queries nameservers with `node:dgram` and `node:net`. */
export class UdpNameserverClient implements NameserverClient {
  async query(
    server: NameserverAddress,
    question: { name: string; type: QueryType },
    options: { timeoutMs?: number; dnssec?: boolean } = {},
  ): Promise<NameserverAnswer> {
    const timeoutMs = options.timeoutMs ?? 2000;
    const id = Math.floor(Math.random() * 65_536);
    const packet: dnsPacket.Packet = {
      type: "query",
      id,
      flags: 0,
      questions: [{ type: question.type, name: question.name.replace(/\.$/, "") }],
      ...(options.dnssec
        ? {
            additionals: [
              {
                type: "OPT",
                name: ".",
                udpPayloadSize: EDNS_SIZE,
                extendedRcode: 0,
                ednsVersion: 0,
                flags: dnsPacket.DNSSEC_OK,
                flag_do: true,
                options: [],
              },
            ],
          }
        : {}),
    };
    const where = formatAddress(server);
    const udp = await overUdp(server, dnsPacket.encode(packet), timeoutMs);
    const decoded = decode(udp, where, id);
    if (!decoded.flag_tc) return toAnswer(decoded, false);
    const tcp = await overTcp(server, dnsPacket.streamEncode(packet), timeoutMs);
    return toAnswer(decode(tcp, where, id), true);
  }

  async resolve(host: string): Promise<string[]> {
    if (isIP(host)) return [host];
    const found = await lookup(host, { all: true });
    // A machine without IPv6 routes cannot ask over IPv6: prefer IPv4 when the name has both.
    const v4 = found.filter((a) => a.family === 4);
    return (v4.length > 0 ? v4 : found).map((a) => a.address);
  }

  async delegation(zone: string): Promise<string[]> {
    return resolveNs(zone);
  }
}

function decode(bytes: Buffer, where: string, id: number): dnsPacket.DecodedPacket {
  let decoded: dnsPacket.DecodedPacket;
  try {
    decoded = dnsPacket.decode(bytes);
  } catch (error) {
    throw new NameserverError(where, `Malformed DNS answer from ${where}: ${String(error)}`);
  }
  if (decoded.id !== id) throw new NameserverError(where, `DNS answer from ${where} carries another id`);
  return decoded;
}

function toAnswer(packet: dnsPacket.DecodedPacket, tcp: boolean): NameserverAnswer {
  const rcodeNumber = (packet.flags ?? 0) & 0x0f;
  return {
    rcode: RCODES[rcodeNumber] ?? `RCODE${rcodeNumber}`,
    authoritative: packet.flag_aa,
    answers: (packet.answers ?? []).flatMap(toRecord),
    authorities: (packet.authorities ?? []).flatMap(toRecord),
    tcp,
  };
}

function toRecord(answer: dnsPacket.Answer): AnswerRecord[] {
  const name = `${answer.name.toLowerCase().replace(/\.$/, "")}.`;
  const ttl = "ttl" in answer ? (answer.ttl ?? 0) : 0;
  switch (answer.type) {
    case "A":
    case "AAAA":
      return [{ name, ttl, type: answer.type, value: answer.data.toLowerCase() }];
    case "CNAME":
    case "NS":
      return [{ name, ttl, type: answer.type, value: `${answer.data.toLowerCase().replace(/\.$/, "")}.` }];
    case "SOA": {
      const serial = answer.data.serial ?? 0;
      return [
        { name, ttl, type: "SOA", serial, value: `${answer.data.mname}. ${answer.data.rname}. ${serial}` },
      ];
    }
    case "DNSKEY": {
      const { flags, algorithm, key } = answer.data;
      const rdata = Uint8Array.from([flags >> 8, flags & 0xff, 3, algorithm, ...key]);
      const tag = keyTag(rdata);
      const dnskey = { flags, algorithm, keyTag: tag, key: key.toString("base64"), rdata };
      return [{ name, ttl, type: "DNSKEY", dnskey, value: `${flags} 3 ${algorithm} (tag ${tag})` }];
    }
    case "DS": {
      const { keyTag: tag, algorithm, digestType } = answer.data;
      const digest = answer.data.digest.toString("hex").toLowerCase();
      const ds = { keyTag: tag, algorithm, digestType, digest };
      return [{ name, ttl, type: "DS", ds, value: `${tag} ${algorithm} ${digestType} ${digest}` }];
    }
    default:
      return [];
  }
}

function overUdp(server: NameserverAddress, message: Buffer, timeoutMs: number): Promise<Buffer> {
  const where = formatAddress(server);
  const socket = createSocket(isIP(server.host) === 6 ? "udp6" : "udp4");
  return new Promise((resolve, reject) => {
    const done = (fn: () => void) => {
      clearTimeout(timer);
      socket.close();
      fn();
    };
    const timer = setTimeout(
      () =>
        done(() => reject(new NameserverError(where, `No DNS answer from ${where} within ${timeoutMs} ms`))),
      timeoutMs,
    );
    socket.once("message", (msg) => done(() => resolve(msg)));
    socket.once("error", (error) =>
      done(() =>
        reject(new NameserverError(where, `Cannot ask ${where}: ${error.message}`, { cause: error })),
      ),
    );
    socket.send(message, server.port, server.host);
  });
}

function overTcp(server: NameserverAddress, message: Buffer, timeoutMs: number): Promise<Buffer> {
  const where = formatAddress(server);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    let received = Buffer.alloc(0);
    const done = (fn: () => void) => {
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    const timer = setTimeout(
      () =>
        done(() =>
          reject(new NameserverError(where, `No DNS answer over TCP from ${where} within ${timeoutMs} ms`)),
        ),
      timeoutMs,
    );
    socket.on("connect", () => socket.write(message));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const length = received.length >= 2 ? received.readUInt16BE(0) : -1;
      if (length >= 0 && received.length >= length + 2) done(() => resolve(received.subarray(2, length + 2)));
    });
    socket.on("error", (error) =>
      done(() =>
        reject(
          new NameserverError(where, `Cannot ask ${where} over TCP: ${error.message}`, { cause: error }),
        ),
      ),
    );
    socket.on("end", () =>
      done(() => reject(new NameserverError(where, `${where} closed the TCP connection early`))),
    );
  });
}
