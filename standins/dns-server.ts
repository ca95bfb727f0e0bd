/**
 * The stand-ins' nameservers: an authoritative DNS server on loopback (UDP and TCP) that serves a zone
 * from a stand-in's record store, the way a provider's anycast nameservers serve what its API accepted.
 * `lagMs` makes it serve what the store held that long ago, and `freeze()` holds the current answers
 * until `thaw()`: an API that said "done" while its nameservers still serve the old answer.
 */
import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server } from "node:net";
import dnsPacket from "dns-packet";

export { cloudflareSource, desecSource } from "./dns-sources.ts";

/** One RRset the server serves; host names may carry the trailing dot or not. */
export interface ServedRrset {
  /** Owner FQDN. */
  name: string;
  type: string;
  ttl: number;
  /** Presentation values: addresses, host names, or `flags protocol algorithm base64` for DNSKEY. */
  values: string[];
}

/** Options of a stand-in nameserver. */
export interface DnsServerOptions {
  zone: string;
  /** The zone's RRsets right now (read on every question, or sampled when lagging). */
  source: () => ServedRrset[];
  /** Apex NS names served when the source has none (deSEC and Cloudflare add their own). */
  nameservers?: string[];
  /** Extra apex RRsets the provider adds by itself (DNSKEYs of a signing provider). */
  extra?: () => ServedRrset[];
  /** Answers over UDP larger than this are truncated (TC), as a 512-byte-only server would. */
  udpLimit?: number;
}

type Snapshot = { at: number; rrsets: ServedRrset[] };
const trimDot = (name: string) => name.toLowerCase().replace(/\.$/, "");

/** A running stand-in nameserver. */
export class StandinDnsServer {
  /** Serve what the store held this many ms ago (0: serve it live). */
  lagMs = 0;
  /** Questions answered, for tests and the benchmark. */
  queries = 0;
  readonly #options: DnsServerOptions;
  #udp: Socket | null = null;
  #tcp: Server | null = null;
  #frozen: ServedRrset[] | null = null;
  #history: Snapshot[] = [];
  #sampler: ReturnType<typeof setInterval> | null = null;
  #serial = 1;
  #lastFingerprint = "";
  port = 0;

  constructor(options: DnsServerOptions) {
    this.#options = options;
  }

  /** Listens on 127.0.0.1 (UDP and TCP on the same port; 0 picks one). */
  async start(port = 0): Promise<void> {
    // UDP and TCP share the number; an ephemeral UDP port may be taken on TCP, so try a few.
    for (let attempt = 0; ; attempt++) {
      const udp = await this.#bindUdp(port);
      try {
        this.#tcp = await this.#listenTcp(udp.address().port);
      } catch (error) {
        await new Promise<void>((resolve) => udp.close(() => resolve()));
        if (port !== 0 || attempt >= 20) throw error;
        continue;
      }
      this.#udp = udp;
      this.port = udp.address().port;
      break;
    }
    // Sampling keeps the history a lagging server serves from; cheap (the stores are small).
    this.#sampler = setInterval(() => this.#sample(), 10);
    this.#sample();
  }

  async #bindUdp(port: number): Promise<Socket> {
    const udp = createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind(port, "127.0.0.1", () => resolve());
    });
    udp.on("message", (msg, peer) => {
      const answer = this.#answer(msg, this.#options.udpLimit ?? 1232);
      if (answer) udp.send(answer, peer.port, peer.address);
    });
    return udp;
  }

  async #listenTcp(port: number): Promise<Server> {
    const tcp = createServer((socket) => {
      let buffered = Buffer.alloc(0);
      socket.on("data", (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= buffered.readUInt16BE(0) + 2) {
          const length = buffered.readUInt16BE(0);
          const answer = this.#answer(buffered.subarray(2, 2 + length), 65_535);
          buffered = buffered.subarray(2 + length);
          if (answer)
            socket.write(Buffer.concat([Buffer.from([answer.length >> 8, answer.length & 0xff]), answer]));
        }
      });
      socket.on("error", () => socket.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      tcp.once("error", reject);
      tcp.listen(port, "127.0.0.1", () => resolve());
    });
    return tcp;
  }

  /** `127.0.0.1:PORT`, as `providers.X.nameservers` takes it. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Holds the answers served now until `thaw()`, whatever the API accepts meanwhile. */
  freeze(): void {
    this.#frozen = this.#current();
  }

  /** Serves the store again (after `lagMs`, if set). */
  thaw(): void {
    this.#frozen = null;
  }

  async stop(): Promise<void> {
    if (this.#sampler) clearInterval(this.#sampler);
    this.#sampler = null;
    const udp = this.#udp;
    const tcp = this.#tcp;
    this.#udp = null;
    this.#tcp = null;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }

  #current(): ServedRrset[] {
    return [...this.#options.source(), ...(this.#options.extra?.() ?? [])];
  }

  #sample(): void {
    const now = Date.now();
    const rrsets = this.#current();
    const fingerprint = JSON.stringify(rrsets);
    if (fingerprint !== this.#lastFingerprint) {
      this.#lastFingerprint = fingerprint;
      this.#serial++;
      this.#history.push({ at: now, rrsets });
    }
    // Keep the newest snapshot older than the lag window, and everything after it.
    const horizon = now - this.lagMs;
    while (this.#history.length > 1 && (this.#history[1]?.at ?? now) <= horizon) this.#history.shift();
  }

  #served(): ServedRrset[] {
    if (this.#frozen) return this.#frozen;
    if (this.lagMs <= 0) return this.#current();
    const horizon = Date.now() - this.lagMs;
    let chosen = this.#history[0]?.rrsets ?? [];
    for (const snapshot of this.#history) if (snapshot.at <= horizon) chosen = snapshot.rrsets;
    return chosen;
  }

  #answer(message: Buffer, limit: number): Buffer | null {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return null;
    }
    this.queries++;
    const question = query.questions?.[0];
    const base = { type: "response" as const, id: query.id ?? 0, questions: query.questions ?? [] };
    if (!question) return dnsPacket.encode({ ...base, flags: 1 }); // FORMERR
    const zone = trimDot(this.#options.zone);
    const name = trimDot(question.name);
    if (name !== zone && !name.endsWith(`.${zone}`)) {
      return dnsPacket.encode({ ...base, flags: 5 }); // REFUSED: not our zone
    }
    const rrsets = this.#withApex(this.#served());
    const atName = rrsets.filter((r) => trimDot(r.name) === name);
    const cname = atName.find((r) => r.type === "CNAME");
    const matching = atName.filter((r) => r.type === question.type);
    const chosen = matching.length > 0 ? matching : cname && question.type !== "CNAME" ? [cname] : [];
    const answers = chosen.flatMap((r) => r.values.map((v) => toAnswer(name, r, v)));
    const soa = rrsets.find((r) => r.type === "SOA" && trimDot(r.name) === zone);
    const nxdomain = atName.length === 0 && !rrsets.some((r) => trimDot(r.name).endsWith(`.${name}`));
    const packet: dnsPacket.Packet = {
      ...base,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (nxdomain ? 3 : 0),
      answers,
      authorities: answers.length === 0 && soa ? soa.values.map((v) => toAnswer(zone, soa, v)) : [],
    };
    const encoded = dnsPacket.encode(packet);
    if (encoded.length <= limit) return encoded;
    return dnsPacket.encode({
      ...base,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.TRUNCATED_RESPONSE,
    });
  }

  #withApex(rrsets: ServedRrset[]): ServedRrset[] {
    const zone = trimDot(this.#options.zone);
    const out = [...rrsets];
    const atApex = (type: string) => out.some((r) => r.type === type && trimDot(r.name) === zone);
    if (!atApex("NS") && this.#options.nameservers) {
      out.push({ name: zone, type: "NS", ttl: 3600, values: this.#options.nameservers });
    }
    if (!atApex("SOA")) {
      const mname = this.#options.nameservers?.[0] ?? `ns1.${zone}`;
      const value = `${trimDot(mname)}. hostmaster.${zone}. ${this.#serial} 10800 3600 604800 300`;
      out.push({ name: zone, type: "SOA", ttl: 300, values: [value] });
    }
    return out;
  }
}

function toAnswer(name: string, rrset: ServedRrset, value: string): dnsPacket.Answer {
  const base = { name, ttl: rrset.ttl, class: "IN" as const };
  switch (rrset.type) {
    case "A":
    case "AAAA":
    case "CNAME":
    case "NS":
      return { ...base, type: rrset.type, data: trimDot(value) };
    case "SOA": {
      const [mname = "", rname = "", serial, refresh, retry, expire, minimum] = value.split(/\s+/);
      return {
        ...base,
        type: "SOA",
        data: {
          mname: trimDot(mname),
          rname: trimDot(rname),
          serial: Number(serial),
          refresh: Number(refresh),
          retry: Number(retry),
          expire: Number(expire),
          minimum: Number(minimum),
        },
      };
    }
    case "DNSKEY": {
      const [flags = "257", , algorithm = "13", ...key] = value.split(/\s+/);
      return {
        ...base,
        type: "DNSKEY",
        data: {
          flags: Number(flags),
          algorithm: Number(algorithm),
          key: Buffer.from(key.join(""), "base64"),
        },
      };
    }
    case "DS": {
      const [tag = "0", algorithm = "13", digestType = "2", digest = ""] = value.split(/\s+/);
      return {
        ...base,
        type: "DS",
        data: {
          keyTag: Number(tag),
          algorithm: Number(algorithm),
          digestType: Number(digestType),
          digest: Buffer.from(digest, "hex"),
        },
      };
    }
    default:
      return { ...base, type: "TXT", data: value };
  }
}

/** Starts a stand-in nameserver on 127.0.0.1 (an ephemeral port unless given). */
export async function startDnsServer(options: DnsServerOptions, port = 0): Promise<StandinDnsServer> {
  const server = new StandinDnsServer(options);
  await server.start(port);
  return server;
}
