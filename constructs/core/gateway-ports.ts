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

/** The gateway's health endpoint: on the admin listener, plain HTTP inside the VPC. */
export const HEALTH_CHECK = { port: GATEWAY_PORTS.admin.containerPort, path: '/healthz' } as const;
