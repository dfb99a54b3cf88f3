import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatehouseConfig } from '../config/schema';

/** Where a gateway publishes what a client needs to log in and connect. */
export const WELL_KNOWN_PATH = '/.well-known/gatehouse';

export const DEFAULT_LOGIN_SCOPES: readonly string[] = ['openid', 'email', 'profile', 'offline_access'];

/** The login part: how `gatehouse login` obtains a credential this gateway accepts. */
export type WellKnownLogin =
  | {
      readonly configured: true;
      /** The issuer's exact `iss` (its discovery is `${issuer}/.well-known/openid-configuration`). */
      readonly issuer: string;
      /** A public client: no secret exists to publish. */
      readonly clientId: string;
      readonly scopes: readonly string[];
      /** The token presented to the gateway: its `aud` is the client id. */
      readonly credential: 'id_token';
    }
  | { readonly configured: false; readonly reason: string };

export type WellKnownConnection =
  | {
      readonly name: string;
      readonly kind: 'http';
      readonly pathPrefix?: string;
      readonly host?: string;
      /** The LLM API it serves (absent for plain HTTP): how `gatehouse setup claude-code` finds its base URL. */
      readonly llm?: 'anthropic' | 'openai';
    }
  | { readonly name: string; readonly kind: 'aws'; readonly service: string; readonly region: string; readonly pathPrefix?: string; readonly host?: string }
  | {
      readonly name: string;
      readonly kind: 'postgres';
      readonly databases: readonly string[];
      /** Only when it differs from the gateway URL's host name (`listeners.postgres.advertise.host`). */
      readonly host?: string;
      /** The port clients connect to: the advertised one, else the one bound. */
      readonly port: number;
      readonly tls: boolean;
    }
  | {
      readonly name: string;
      readonly kind: 'ssh';
      /** Only when it differs from the gateway URL's host name (`listeners.ssh.advertise.host`). */
      readonly host?: string;
      readonly port: number;
      /** The gateway's host key (`ssh-ed25519 AAAA…`), for known_hosts. */
      readonly hostKey: string;
      /** Its fingerprint as OpenSSH prints it (`SHA256:…`), what `gatehouse ssh-key --fingerprint` pins. */
      readonly hostKeyFingerprint: string;
      /** A client without a key may sign in with a device code at the SSH prompt (keyboard-interactive, `listeners.ssh.deviceLogin`). */
      readonly deviceLogin: boolean;
    };

/**
 * What only the running gateway knows: the ports its TCP listeners bound (a configured port 0 is
 * the OS's choice) and the SSH host key read from the secret store.
 */
export interface BoundListeners {
  readonly postgres?: { readonly port: number };
  readonly ssh?: { readonly port: number; readonly hostKey: string; readonly hostKeyFingerprint: string };
}

/**
 * `GET /.well-known/gatehouse`. Only what a client needs and anyone who can reach the listener may
 * know: issuer URLs, the public client id, audiences, connection names and routes. Never upstream
 * addresses, credentials, policy or group mappings.
 */
export interface WellKnownDocument {
  readonly gatehouse: 1;
  readonly login: WellKnownLogin;
  /** Tokens from these issuers with one of these audiences are accepted (human issuers only). */
  readonly issuers: readonly { readonly issuer: string; readonly audiences: readonly string[] }[];
  readonly connections: readonly WellKnownConnection[];
}

type DocumentConfig = Pick<GatehouseConfig, 'login' | 'identity' | 'connections' | 'listeners'>;

/**
 * The document for a configuration and what its listeners bound. Without `bound` (a configuration
 * checked offline) PostgreSQL shows its configured port, and SSH connections, whose host key only
 * the running gateway has read, are left out.
 */
export function buildWellKnownDocument(config: DocumentConfig, bound: BoundListeners = {}): WellKnownDocument {
  const humans = config.identity.issuers.filter((i) => i.kind === 'human');
  const loginIssuer = config.login ? humans.find((i) => i.name === config.login!.issuer) : undefined;
  const login: WellKnownLogin =
    config.login && loginIssuer
      ? { configured: true, issuer: loginIssuer.issuer, clientId: config.login.clientId, scopes: config.login.scopes ?? DEFAULT_LOGIN_SCOPES, credential: 'id_token' }
      : { configured: false, reason: 'this gateway has no login block in its configuration: ask its operator for a token' };
  const { postgres: pg, ssh } = config.listeners;
  const connections: WellKnownConnection[] = [];
  for (const c of config.connections) {
    if (c.kind === 'http') connections.push({ name: c.name, kind: 'http', ...(c.route.pathPrefix !== undefined && { pathPrefix: c.route.pathPrefix }), ...(c.route.host !== undefined && { host: c.route.host }), ...(c.llm !== 'none' && { llm: c.llm }) });
    else if (c.kind === 'aws') connections.push({ name: c.name, kind: 'aws', service: c.service, region: c.region, ...(c.route.pathPrefix !== undefined && { pathPrefix: c.route.pathPrefix }), ...(c.route.host !== undefined && { host: c.route.host }) });
    // A connection without its listener cannot be reached: not published.
    else if (c.kind === 'postgres' && pg) {
      const host = pg.advertise?.host;
      connections.push({ name: c.name, kind: 'postgres', databases: c.databases ?? [c.name], ...(host !== undefined && { host }), port: pg.advertise?.port ?? bound.postgres?.port ?? pg.port, tls: pg.tls !== undefined });
    } else if (c.kind === 'ssh' && ssh && bound.ssh) {
      const host = ssh.advertise?.host;
      connections.push({ name: c.name, kind: 'ssh', ...(host !== undefined && { host }), port: ssh.advertise?.port ?? bound.ssh.port, hostKey: bound.ssh.hostKey, hostKeyFingerprint: bound.ssh.hostKeyFingerprint, deviceLogin: ssh.deviceLogin !== undefined });
    }
  }
  return { gatehouse: 1, login, issuers: humans.map((i) => ({ issuer: i.issuer, audiences: i.audiences })), connections };
}

/**
 * The document a running gateway serves. The HTTP listener starts before the PostgreSQL and SSH
 * ones, whose ports and host key the document names: until `publish` has them, requests get 503
 * (a client retries) rather than a document with a port that is not the one bound.
 */
export class WellKnownPublisher {
  private body: Buffer | undefined;
  private bound: BoundListeners = {};

  constructor(private readonly config: DocumentConfig) {}

  /**
   * A protocol module's own part of the document (what only its running listener knows: the port
   * bound, the SSH host key), given from its `start` (ProtocolContext.wellKnown): the server
   * publishes the parts it collected, and knows no protocol's details.
   */
  bind(part: BoundListeners): void {
    this.bound = { ...this.bound, ...part };
  }

  /** Serves the document with every part bound so far (and `bound`, when given). */
  publish(bound: BoundListeners = {}): void {
    this.body = Buffer.from(JSON.stringify(buildWellKnownDocument(this.config, { ...this.bound, ...bound })));
  }

  /** The serialized document, or undefined before `publish`. */
  get document(): Buffer | undefined {
    return this.body;
  }
}

/**
 * Wraps a listener's request handler so it answers `GET|HEAD /.well-known/gatehouse` itself (before
 * any connection's route, which could otherwise claim every path) and passes everything else on.
 */
export function withWellKnown(publisher: WellKnownPublisher, next: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = req.url ?? '';
    if (url !== WELL_KNOWN_PATH && !url.startsWith(`${WELL_KNOWN_PATH}?`)) return next(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' }).end('{"error":"method not allowed"}');
      return;
    }
    const body = publisher.document;
    if (body === undefined) {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1', 'cache-control': 'no-store' }).end('{"error":"starting"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length, 'cache-control': 'public, max-age=300' });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
