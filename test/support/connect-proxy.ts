import http, { type IncomingMessage, type ServerResponse } from "node:http";
import net, { type AddressInfo, type Socket } from "node:net";

export interface ConnectProxyOptions {
  /** Address to listen on; default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  /** `host:port` targets allowed; others get 403 (a corporate proxy's allow list). Default: any. */
  readonly allow?: readonly string[];
}

export interface Tunnel {
  /** `host:port` as the client asked for it. */
  readonly target: string;
  /** The client's address, as the proxy saw it. */
  readonly client: string;
  readonly allowed: boolean;
}

/**
 * A real forward proxy for tests, like the corporate one the service sits behind: HTTP CONNECT
 * tunnels (what undici's ProxyAgent uses for https:// and, by default, http:// targets) and
 * plain absolute-URI requests (`GET http://host:port/path`, what curl sends through HTTP_PROXY).
 * It records every CONNECT in `tunnels` and every forwarded request in `forwarded`, so a test
 * can tell what went through it and what did not. `close()` cuts open tunnels.
 */
export class ConnectProxy {
  readonly tunnels: Tunnel[] = [];
  readonly forwarded: Array<{ readonly url: string; readonly client: string; readonly allowed: boolean }> =
    [];
  url = "";
  port = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server = http.createServer((req, res) => this.forward(req, res));

  constructor(private readonly options: ConnectProxyOptions = {}) {
    this.server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) =>
      this.tunnel(req, client, head),
    );
    this.server.on("connection", (socket: Socket) => this.track(socket));
  }

  async start(): Promise<this> {
    const host = this.options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port ?? 0, host, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://${host.includes(":") ? `[${host}]` : host}:${this.port}`;
    return this;
  }

  /** Tunnels opened to `target` (`host:port`). */
  tunnelsTo(target: string): number {
    return this.tunnels.filter((tunnel) => tunnel.target === target && tunnel.allowed).length;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private allowed(target: string): boolean {
    return this.options.allow === undefined || this.options.allow.includes(target);
  }

  private tunnel(req: IncomingMessage, client: Socket, head: Buffer): void {
    const target = req.url ?? "";
    const allowed = this.allowed(target);
    this.tunnels.push({ target, client: plainAddress(client.remoteAddress), allowed });
    const colon = target.lastIndexOf(":");
    const host = target.slice(0, colon).replace(/^\[|\]$/g, "");
    const port = Number(target.slice(colon + 1));
    if (!allowed || colon < 0 || !Number.isInteger(port)) {
      client.end(`HTTP/1.1 ${allowed ? "400 Bad Request" : "403 Forbidden"}\r\nconnection: close\r\n\r\n`);
      return;
    }
    let established = false;
    const upstream = net.connect(port, host, () => {
      established = true;
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    this.track(upstream);
    upstream.on("error", () => {
      if (!established) client.end("HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\n\r\n");
    });
    client.on("error", () => upstream.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? "";
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      res.writeHead(400).end("a proxy needs an absolute URI");
      return;
    }
    const allowed = target.protocol === "http:" && this.allowed(target.host);
    this.forwarded.push({ url, client: plainAddress(req.socket.remoteAddress), allowed });
    if (!allowed) {
      res.writeHead(403).end();
      return;
    }
    const upstream = http.request(
      target,
      { method: req.method, headers: withoutHopByHop(req.headers) },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, withoutHopByHop(answer.headers));
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
  }
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "te",
  "upgrade",
]);

function withoutHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));
}

/** An IPv4 client of a dual-stack listener shows as ::ffff:a.b.c.d; tests compare with a.b.c.d. */
function plainAddress(address: string | undefined): string {
  return (address ?? "").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
}

/** Starts a proxy; `await proxy.close()` when done. */
export function startConnectProxy(options: ConnectProxyOptions = {}): Promise<ConnectProxy> {
  return new ConnectProxy(options).start();
}
