import type { AddressInfo } from 'node:net';
import { Server, utils, type AuthContext, type Connection, type ClientInfo as Ssh2ClientInfo, type PseudoTtyInfo, type ServerChannel, type Session } from 'ssh2';
import type { SshConnectionConfig } from '../../config/schema';
import { isGatehouseError, toGatehouseError } from '../../errors';
import type { Principal } from '../../identity/principal';
import type { Logger } from '../../observability/logger';
import type { GatewaySession, Pipeline, SshPtySize } from '../../pipeline/types';
import { DECISION_CODES, type DecisionCode, type Operation } from '../../policy/decision';
import { bridgeChannel } from './channel';
import { loadHostKey } from './host-key';
import type { SshKeyRegistry } from './key-registry';
import { resolveTarget } from './target';
import { TerminalRecorder, type TerminalMasking } from './terminal-recorder';
import { connectUpstream, SshUpstreamError, upstreamExec, upstreamShell } from './upstream';
import type { Client } from 'ssh2';

export interface SshGatewayOptions {
  readonly pipeline: Pipeline;
  /** Secret reference to the gateway's host key (OpenSSH or PEM private key, unencrypted). */
  readonly hostKey: string;
  readonly keys: SshKeyRegistry;
  readonly connections: readonly SshConnectionConfig[];
  /** The recording's masking per connection. @default none (recorded in the clear) */
  readonly masking?: (connection: SshConnectionConfig) => TerminalMasking | undefined;
  readonly logger: Logger;
  /** Upstream connect and handshake deadline. @default 10000 */
  readonly upstreamTimeoutMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Exit status of a channel the gateway refused (policy, recording): "cannot execute", as shells use. */
export const REFUSED_EXIT_STATUS = 126;

interface Ready {
  readonly session: GatewaySession;
  readonly upstream: Client;
  readonly connection: SshConnectionConfig;
  readonly keyFingerprint: string;
}

function ptySize(pty: PseudoTtyInfo | undefined): SshPtySize | null {
  return pty === undefined ? null : { term: pty.term, cols: pty.cols, rows: pty.rows };
}

function operation(action: string, attributes: Operation['attributes'], summary: string): Operation {
  return { protocol: 'ssh', action, attributes, summary };
}

/**
 * The SSH front (docs/ssh.md): terminates SSH with the gateway's host key, authenticates clients
 * by registered short-lived public keys (publickey only), opens one upstream SSH connection per
 * client connection with the brokered key and the pinned host key, judges each shell and exec
 * channel through `session.admit` (`ssh:shell`, `ssh:exec` with the command in context), records
 * every channel's bytes, and refuses what it cannot judge and record yet: port forwarding, agent
 * forwarding, X11, SFTP and other subsystems.
 */
export class SshGateway {
  private server: Server | undefined;
  private readonly clients = new Set<Connection>();
  private readonly closers = new Set<() => Promise<void>>();
  /** SHA256 fingerprint of the gateway's host key (for known_hosts; `gatehouse` prints it). */
  hostKeyFingerprint = '';
  /** The host key's public half, `ssh-ed25519 AAAA…`. */
  hostPublicKey = '';

  constructor(private readonly options: SshGatewayOptions) {}

  async listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    const hostKey = loadHostKey(await this.options.pipeline.secrets.get(this.options.hostKey));
    this.hostKeyFingerprint = hostKey.fingerprint;
    this.hostPublicKey = hostKey.publicKey;
    const server = new Server({ hostKeys: [hostKey.privateKey], ident: 'Gatehouse' }, (client, info) => this.accept(client, info));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server === undefined ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
    for (const c of this.clients) c.end();
    await Promise.all([...this.closers].map((f) => f()));
    await closed;
  }

  private accept(client: Connection, info: Ssh2ClientInfo): void {
    this.clients.add(client);
    const { keys, connections, logger } = this.options;
    let principal: Principal | undefined;
    let connection: SshConnectionConfig | undefined;
    let keyFingerprint = '';
    let requestedUser = '';
    let ready: Promise<Ready> | undefined;
    let expiry: NodeJS.Timeout | undefined;
    let channels = 0;

    client.on('error', (err) => logger.debug({ err: err.message }, 'ssh client connection error'));

    client.on('authentication', (ctx: AuthContext) => {
      // Publickey only: a JWT is never an SSH password, and no other method is offered.
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const target = resolveTarget(ctx.username, connections);
      const found = keys.lookup(ctx.key.data);
      if (target === undefined || !found.ok) {
        logger.info({ user: ctx.username, reason: target === undefined ? 'unknown_target' : found.ok ? 'ok' : found.reason }, 'ssh key refused');
        return ctx.reject(['publickey']);
      }
      if (ctx.signature === undefined) return ctx.accept(); // the client asks whether the key would do
      const pub = utils.parseKey(`${found.key.algo} ${ctx.key.data.toString('base64')}`);
      if (pub instanceof Error || Array.isArray(pub) || ctx.blob === undefined || pub.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
        return ctx.reject(['publickey']);
      }
      principal = found.key.principal;
      connection = target;
      keyFingerprint = found.key.fingerprint;
      requestedUser = ctx.username;
      ctx.accept();
    });

    client.on('ready', () => {
      if (principal === undefined || connection === undefined) return client.end();
      const p = principal;
      const conn = connection;
      ready = this.open(p, conn, keyFingerprint, requestedUser, info);
      ready.then(
        (r) => {
          // The key's expiry ends the connection (new channels check it too).
          const left = keys.expiresIn(r.keyFingerprint);
          expiry = setTimeout(() => client.end(), Math.min(Math.max(0, left), 2_147_000_000));
          expiry.unref();
          const closer = async () => {
            r.upstream.end();
            if (!r.session.closed) await r.session.close('shutdown').catch(() => undefined);
          };
          this.closers.add(closer);
          client.once('close', () => {
            this.closers.delete(closer);
            r.upstream.end();
            if (!r.session.closed) r.session.close('client_closed').catch(() => undefined);
          });
          r.upstream.on('close', () => client.end());
        },
        () => client.end(),
      );
    });

    client.on('close', () => {
      this.clients.delete(client);
      if (expiry !== undefined) clearTimeout(expiry);
    });

    // Forwarding and other channel kinds: refused (recorded as policy.denied) until they are judged and recorded.
    client.on('tcpip', (_accept, reject, i) => {
      this.refuse(ready, operation('ssh:port-forward', { direction: 'local', host: i.destIP, port: i.destPort }, `port forward to ${i.destIP}:${i.destPort}`), DECISION_CODES.sshPortForward, reject);
    });
    client.on('openssh.streamlocal', (_accept, reject, i) => {
      this.refuse(ready, operation('ssh:port-forward', { direction: 'local', socket: i.socketPath }, `socket forward to ${i.socketPath}`), DECISION_CODES.sshPortForward, reject);
    });
    client.on('request', (_accept, reject, name, i) => {
      const bind = i as { bindAddr?: string; bindPort?: number };
      this.refuse(ready, operation('ssh:port-forward', { direction: 'remote', request: name, host: bind.bindAddr ?? '', port: bind.bindPort ?? 0 }, `${name} ${bind.bindAddr ?? ''}:${bind.bindPort ?? ''}`), DECISION_CODES.sshPortForward, () => reject?.());
    });

    client.on('session', (acceptSession) => {
      const s: Session = acceptSession();
      const channel = channels++;
      let pty: PseudoTtyInfo | undefined;
      let resize: ((cols: number, rows: number, width: number, height: number) => void) | undefined;
      s.on('pty', (accept, _reject, i) => {
        pty = i;
        accept?.();
      });
      s.on('window-change', (accept, _reject, i) => {
        if (pty !== undefined) pty = { ...pty, cols: i.cols, rows: i.rows };
        resize?.(i.cols, i.rows, i.width, i.height);
        accept?.();
      });
      s.on('env', (_accept, reject) => reject?.());
      s.on('signal', (accept) => accept?.());
      s.on('auth-agent', (_accept, reject) => {
        this.refuse(ready, operation('ssh:agent-forward', {}, 'agent forwarding'), DECISION_CODES.sshAgentForward, () => reject?.());
      });
      s.on('x11', (_accept, reject) => {
        this.refuse(ready, operation('ssh:x11', {}, 'X11 forwarding'), DECISION_CODES.sshPortForward, () => reject?.());
      });
      s.on('sftp', (_accept, reject) => {
        this.refuse(ready, operation('ssh:sftp', { subsystem: 'sftp' }, 'sftp'), DECISION_CODES.sshSubsystem, reject);
      });
      s.on('subsystem', (_accept, reject, i) => {
        this.refuse(ready, operation('ssh:subsystem', { subsystem: i.name }, `subsystem ${i.name}`), DECISION_CODES.sshSubsystem, reject);
      });
      s.on('exec', (accept, reject, i) => {
        const op = operation('ssh:exec', { command: i.command, pty: pty !== undefined }, `exec ${i.command}`);
        void this.channel(ready, channel, op, 'exec', i.command, pty, accept, reject).then((r) => (resize = r));
      });
      s.on('shell', (accept, reject) => {
        const op = operation('ssh:shell', { pty: pty !== undefined }, 'shell');
        void this.channel(ready, channel, op, 'shell', null, pty, accept, reject).then((r) => (resize = r));
      });
    });
  }

  /** After authentication: the gateway session, then the upstream connection (recorded either way). */
  private async open(principal: Principal, connection: SshConnectionConfig, keyFingerprint: string, requestedUser: string, info: Ssh2ClientInfo): Promise<Ready> {
    const { pipeline } = this.options;
    const session = await pipeline.openSession(principal, connection, 'ssh', { address: info.ip, port: info.port, userAgent: info.header.versions.software });
    const upstreamName = `${connection.upstream.host}:${connection.upstream.port}`;
    try {
      const key = await pipeline.secrets.get(connection.upstream.privateKey);
      const up = await connectUpstream(connection, key, this.options.upstreamTimeoutMs ?? 10_000);
      await session.record('ssh.session.open', {
        upstream: upstreamName,
        upstreamUser: connection.upstream.user,
        requestedUser,
        clientKey: keyFingerprint,
        upstreamHostKey: up.hostKeyFingerprint,
      });
      return { session, upstream: up.client, connection, keyFingerprint };
    } catch (e) {
      const err = toGatehouseError(e, 'GH_ERR_UPSTREAM_UNAVAILABLE', 'upstream unavailable');
      const reason = e instanceof SshUpstreamError ? e.reason : isGatehouseError(e) && e.code === 'GH_ERR_SECRET_UNAVAILABLE' ? 'secret_unavailable' : 'unreachable';
      session.recordOutcome('ssh.upstream_error', { upstream: upstreamName, code: err.code, reason, message: err.message }, session.newRequestId());
      await session.close(reason === 'host_key_mismatch' ? 'upstream_host_key_mismatch' : 'upstream_unavailable').catch(() => undefined);
      throw err;
    }
  }

  /** Refuses a channel or request kind: recorded as policy.denied, then rejected on the wire. */
  private refuse(ready: Promise<Ready> | undefined, op: Operation, code: DecisionCode, reject: () => void): void {
    if (ready === undefined) return reject();
    ready
      .then(async (r) => {
        const requestId = r.session.newRequestId();
        await r.session.refuse(op, code, `${op.summary} is not allowed through the gateway`, requestId);
      })
      .catch((e: unknown) => this.options.logger.warn({ err: (e as Error).message }, 'ssh refusal not recorded'))
      .finally(reject);
  }

  /**
   * A shell or exec channel: judged (its `ssh.channel.open` recorded with the decision when
   * allowed), then opened upstream and bridged. A refusal is answered on the channel's stderr
   * with the decision code and exit status 126, so scripts see why.
   */
  private async channel(
    ready: Promise<Ready> | undefined,
    channel: number,
    op: Operation,
    kind: 'shell' | 'exec',
    command: string | null,
    pty: PseudoTtyInfo | undefined,
    accept: () => ServerChannel,
    reject: () => void,
  ): Promise<((cols: number, rows: number, width: number, height: number) => void) | undefined> {
    let r: Ready;
    try {
      if (ready === undefined) throw new Error('not authenticated');
      r = await ready;
    } catch {
      reject();
      return undefined;
    }
    const { session, upstream, keyFingerprint } = r;
    const refuseOnChannel = (message: string): undefined => {
      const stream = accept();
      stream.stderr.write(`gatehouse: ${message}\r\n`);
      stream.exit(REFUSED_EXIT_STATUS);
      stream.end();
      return undefined;
    };
    if (!this.options.keys.valid(keyFingerprint)) return refuseOnChannel('GH_ERR_SESSION_EXPIRED: the SSH key expired or was revoked; register a new one');
    const requestId = session.newRequestId();
    try {
      const decision = await session.admit(op, requestId, { type: 'ssh.channel.open', payload: { channel, kind, command, pty: ptySize(pty) } });
      if (decision.effect !== 'allow') return refuseOnChannel(`denied (${decision.code}): ${decision.message}`);
    } catch (e) {
      const err = toGatehouseError(e, 'GH_ERR_POLICY_FAILED', 'the channel could not be judged or recorded');
      return refuseOnChannel(`${err.code}: ${err.message}`);
    }
    const ptyOptions = pty === undefined ? undefined : { rows: pty.rows, cols: pty.cols, height: pty.height, width: pty.width, term: pty.term };
    let up;
    try {
      up = kind === 'exec' ? await upstreamExec(upstream, command ?? '', ptyOptions) : await upstreamShell(upstream, ptyOptions);
    } catch (e) {
      const err = toGatehouseError(e, 'GH_ERR_UPSTREAM_UNAVAILABLE', 'upstream channel failed');
      const c = r.connection.upstream;
      session.recordOutcome('ssh.upstream_error', { upstream: `${c.host}:${c.port}`, code: err.code, reason: 'channel_failed', message: err.message }, requestId);
      return refuseOnChannel(`${err.code}: the upstream refused the channel`);
    }
    const recorder = new TerminalRecorder(channel, this.options.now ?? Date.now, this.options.masking?.(r.connection));
    const bridge = bridgeChannel(session, requestId, accept(), up, recorder);
    return (cols, rows, width, height) => bridge.resize(cols, rows, width, height);
  }
}
