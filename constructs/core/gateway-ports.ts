/**
 * The port plan: every listener the gateway has or will have, fixed here so that load balancer
 * listeners, security groups, container ports and the gateway's own configuration agree.
 *
 * `tls`: the load balancer terminates TLS with the operator's certificate and forwards TCP.
 * `tcp`: passthrough; the protocol carries its own encryption (SSH) or negotiates TLS inside the
 * protocol (PostgreSQL's SSLRequest, MySQL's capability flags), which a load balancer cannot
 * terminate, so the gateway does.
 */
export interface GatewayPort {
  readonly containerPort: number;
  readonly listenerPort: number;
  readonly termination: 'tls' | 'tcp';
}

export type GatewayListenerName = 'http' | 'admin' | 'postgres' | 'mysql' | 'ssh';

/** Protocols beyond HTTP and admin, opened when the gateway version in use supports them. */
export type GatewayTcpProtocol = Exclude<GatewayListenerName, 'http' | 'admin'>;

export const GATEWAY_PORTS: Readonly<Record<GatewayListenerName, GatewayPort>> = {
  http: { containerPort: 8443, listenerPort: 443, termination: 'tls' },
  admin: { containerPort: 9090, listenerPort: 9443, termination: 'tls' },
  postgres: { containerPort: 5432, listenerPort: 5432, termination: 'tcp' },
  mysql: { containerPort: 3306, listenerPort: 3306, termination: 'tcp' },
  ssh: { containerPort: 2222, listenerPort: 22, termination: 'tcp' },
};

/** The gateway's liveness endpoint (the process works): on the admin listener, plain HTTP inside the VPC. */
export const HEALTH_CHECK = { port: GATEWAY_PORTS.admin.containerPort, path: '/healthz' } as const;

/**
 * The gateway's readiness endpoint (it can serve): 503 while its state database is not prepared
 * (gateway/src/server/state-readiness.ts), its recording fails, or it drains. What routes traffic
 * (load balancer target health, Cloud Run's startup probe, Container Apps' readiness probe) asks
 * this one, so a replica that cannot serve gets nothing and a deployment of them fails, as it did
 * when such a replica exited at start; restarts are decided on HEALTH_CHECK.
 */
export const READINESS_CHECK = { port: GATEWAY_PORTS.admin.containerPort, path: '/readyz' } as const;

/** What the gateway's TCP listeners need beyond a port: secret references, never values. */
export interface TcpListenerSecrets {
  /**
   * The certificate chain and private key the PostgreSQL (and MySQL) listener presents: it
   * negotiates TLS inside the protocol, which no load balancer terminates (`listeners.<p>.tls`).
   */
  readonly tcpTls?: { readonly cert: string; readonly key: string };
  /** The gateway's SSH host key (`listeners.ssh.hostKey`). */
  readonly sshHostKey?: string;
}

/** How clients reach the TCP listeners on a platform. */
export interface TcpIngress {
  /**
   * The platform's front end listens on `listenerPort` and forwards to `containerPort` (AWS's
   * Network Load Balancer, Azure Container Apps' TCP ingress with `exposedPort`), rather than
   * passing the port through (Google Cloud's internal passthrough load balancer). Then each
   * listener whose two ports differ is advertised on `listenerPort`. @default false
   */
  readonly translatesPorts?: boolean;
}

/**
 * The gateway's `listeners.<protocol>` entry for a TCP protocol, on every interface, as the
 * gateway's schema wants it (gateway/src/config/schema.ts): PostgreSQL and MySQL with `tls` (the
 * gateway refuses plaintext on a non-loopback address), SSH with its `hostKey` and no
 * `allowPlaintext`. A missing secret is an error here, at synth, not a gateway that never starts.
 *
 * Behind a front end that translates ports (SSH: 22 outside, 2222 in the container), the listener
 * carries `advertise: { port }`, so `/.well-known/gatehouse` tells clients the port they reach,
 * not the one the container binds. The host stays the gateway URL's (the same front end). MySQL's
 * listener has no `advertise` in the gateway's schema (and keeps its port everywhere).
 * @param owner the construct, for the error message
 */
export function tcpListenerConfig(protocol: GatewayTcpProtocol, secrets: TcpListenerSecrets, owner: string, ingress: TcpIngress = {}): Record<string, unknown> {
  const listener = tcpListenerEntry(protocol, secrets, owner);
  const { containerPort, listenerPort } = GATEWAY_PORTS[protocol];
  return ingress.translatesPorts === true && protocol !== 'mysql' && listenerPort !== containerPort ? { ...listener, advertise: { port: listenerPort } } : listener;
}

function tcpListenerEntry(protocol: GatewayTcpProtocol, secrets: TcpListenerSecrets, owner: string): Record<string, unknown> {
  const port = GATEWAY_PORTS[protocol].containerPort;
  if (protocol === 'ssh') {
    if (!secrets.sshHostKey) {
      throw new Error(`${owner}: tcpProtocols "ssh" needs sshHostKey, a secret reference to the gateway's SSH host key (listeners.ssh.hostKey; docs/ssh.md): the gateway refuses an SSH listener without one`);
    }
    return { address: '0.0.0.0', port, hostKey: secrets.sshHostKey };
  }
  if (!secrets.tcpTls) {
    throw new Error(`${owner}: tcpProtocols "${protocol}" needs tcpTls ({ cert, key } secret references): the listener negotiates TLS inside the protocol, and the gateway refuses plaintext on a non-loopback address`);
  }
  return { address: '0.0.0.0', port, tls: { cert: secrets.tcpTls.cert, key: secrets.tcpTls.key } };
}
