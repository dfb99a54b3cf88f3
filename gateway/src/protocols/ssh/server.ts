import net, { type AddressInfo } from 'node:net';
import { Server, utils, type AuthContext, type AuthenticationType, type Client, type Connection, type KeyboardAuthContext, type ClientInfo as Ssh2ClientInfo, type PseudoTtyInfo, type ServerChannel, type Session } from 'ssh2';
import type { SshConnectionConfig } from '../../config/schema';
import { GatehouseError, isGatehouseError, toGatehouseError } from '../../errors';
import type { Principal } from '../../identity/principal';
import type { Logger } from '../../observability/logger';
import type { ClientInfo, GatewaySession, Pipeline, RequestEvent, SshPtySize } from '../../pipeline/types';
import type { EventType } from '../../recording/event-catalog';
import { DECISION_CODES, type DecisionCode, type Operation } from '../../policy/decision';
import { closeTcpGracefully, listenTcp } from '../kit/tcp-listener';
import { ForwardedAgent, openClientAgentChannel } from './agent-forward';
import { bridgeChannel } from './channel';
import { answerOnChannel, sshReason, sshRefusalReason } from './errors';
import type { DeviceAuthorization, DeviceLogin } from './device-login';
import { DeviceSignInSlots, type DeviceSignInLimits } from './device-limit';
import { fingerprint, loadHostKey, parsePublicKey } from './host-key';
import type { SshKeyRegistry } from './key-registry';
import { loadScreenText } from '../../terminal/screen-text';
import { resolveTarget } from './target';
import { TerminalRecorder, type TerminalMasking } from './terminal-recorder';
import { commandHazards } from './command-hazards';
import { scpTap } from './scp';
import { SftpBridge } from './sftp/bridge';
import { connectUpstream, SshUpstreamError, upstreamExec, upstreamShell, upstreamSubsystem } from './upstream';
import { REGISTER_COMMAND, REGISTER_USER } from './registration';
import { CERT_ALGO_ED25519, verifyCertificateSignature, type UserCertificateAuthority } from './user-certificate';

export interface SshGatewayOptions {
  readonly pipeline: Pipeline;
  /** Secret reference to the gateway's host key (OpenSSH or PEM private key, unencrypted). */
  readonly hostKey: string;
  readonly keys: SshKeyRegistry;
  /** Signs and verifies short-lived user certificates (stateless across replicas). @default none: registered keys only */
  readonly userCa?: UserCertificateAuthority;
  /** Longest lifetime of a registered key or certificate (the token's expiry cuts it shorter). @default 3600000 */
  readonly keyTtlMs?: number;
  /**
   * Keyboard-interactive sign-in with a device code for clients without a registered key; its
   * token's expiry (cut to keyTtlMs) bounds the connection. @default none: publickey only
   */
  readonly deviceLogin?: DeviceLogin;
  /** Bounds on the device sign-ins waiting at once, in total and per client address; the excess is refused at once. @default 64 in total, 8 per address */
  readonly deviceLimits?: DeviceSignInLimits;
  readonly connections: readonly SshConnectionConfig[];
  /** The recording's masking per connection. @default none (recorded in the clear) */
  readonly masking?: (connection: SshConnectionConfig) => TerminalMasking | undefined;
  /** Bytes recorded of each SFTP file's content (a connection's own `bodyCapBytes` wins). @default 65536 (recording.bodyCapBytes) */
  readonly bodyCapBytes?: number;
  readonly logger: Logger;
  /** Upstream connect and handshake deadline. @default 10000 */
  readonly upstreamTimeoutMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

export { REFUSED_EXIT_STATUS } from './errors';

/** How long a connection being ended waits for its channels to close (a client that reads nothing more). */
const END_GRACE_MS = 2_000;

interface Ready {
  readonly session: GatewaySession;
  readonly upstream: Client;
  readonly connection: SshConnectionConfig;
}

/** Who a client connection authenticated as, and until when its key, certificate or device sign-in is valid. */
interface Login {
  readonly principal: Principal;
  readonly connection: SshConnectionConfig;
  /** The client key's fingerprint; null for a device sign-in (no key). */
  readonly keyFingerprint: string | null;
  readonly requestedUser: string;
  readonly via: 'registered' | 'certificate' | 'device';
  readonly expiresAt: number;
}

/** What a client whose login expired is told, by how it logged in. */
function expiredMessage(login: Login): string {
  return login.via === 'device'
    ? sshReason({ code: 'GH_ERR_SESSION_EXPIRED', message: 'the sign-in expired; connect again to sign in' })
    : sshReason({ code: 'GH_ERR_SESSION_EXPIRED', message: 'the SSH key expired or was revoked; register a new one (gatehouse ssh-key)' });
}

function clientInfo(info: Ssh2ClientInfo): ClientInfo {
  return { address: info.ip, port: info.port, userAgent: info.header.versions.software };
}

/** Text from the issuer shown on a terminal: no control characters (escape sequences) but newlines. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, '');
}

/** One client connection: its open channels and whether it should end once they are done. */
/** A remote forward the upstream host listens on for a client connection. */
interface RemoteForward {
  readonly forward: number;
  readonly requestId: string;
  /** The address the client asked for, and the port the upstream bound (allocated when 0 was asked). */
  readonly bindAddr: string;
  readonly port: number;
  /** Connections forwarded so far (numbered in ssh.forward.close). */
  connections: number;
}

/** Upstream connections whose `tcp connection` listener is attached (one per connection). */
const upstreamListening = new WeakSet<object>();

interface Conn {
  readonly client: Connection;
  /** Bridged channels, told why when the connection is ended under them. */
  readonly streams: Set<ServerChannel>;
  open: number;
  draining: boolean;
  ready: Promise<Ready> | undefined;
  /** The request id of the latest allowed agent forwarding (its uses are recorded under it). */
  agentRequestId?: string;
}

function ptySize(pty: PseudoTtyInfo | undefined): SshPtySize | null {
  return pty === undefined ? null : { term: pty.term, cols: pty.cols, rows: pty.rows };
}

function operation(action: string, attributes: Operation['attributes'], summary: string): Operation {
  return { protocol: 'ssh', action, attributes, summary };
}

/**
 * The SSH front (docs/ssh.md): terminates SSH with the gateway's host key, authenticates clients
 * by short-lived keys (a gateway-signed certificate, or a key registered on this replica;
 * publickey only), opens one upstream SSH connection per client connection with the brokered key
 * and the pinned host key, judges each shell and exec channel through `session.admit`
 * (`ssh:shell`, `ssh:exec` with the command in context), records every channel's bytes, and
 * bridges SFTP judging every file operation (sftp/bridge.ts), and refuses what it cannot judge and
 * record yet: remote forwarding, X11 and other subsystems. Agent forwarding is off unless policy
 * permits `ssh:agent-forward` (then the agent channels the upstream opens are piped to the client's agent, their bytes counted). Listens on the protocol kit's TCP harness and closes gracefully.
 */
export class SshGateway {
  private tcp: net.Server | undefined;
  private readonly conns = new Set<Conn>();
  private readonly sockets = new Set<net.Socket>();
  /** Session closes in flight: `close` waits for them so every session.end is recorded. */
  private readonly closing = new Set<Promise<void>>();
  private readonly liveSessions = new Set<GatewaySession>();
  private draining = false;
  private readonly deviceSlots: DeviceSignInSlots;
  /** SHA256 fingerprint of the gateway's host key (for known_hosts; `gatehouse` prints it). */
  hostKeyFingerprint = '';
  /** The host key's public half, `ssh-ed25519 AAAA…`. */
  hostPublicKey = '';
  /** Where it listens, once `listen` resolved. */
  address = '';
  port = 0;

  constructor(private readonly options: SshGatewayOptions) {
    this.deviceSlots = new DeviceSignInSlots(options.deviceLimits);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Bytes recorded of each file a channel transfers (SFTP, SCP). */
  private contentCap(c: SshConnectionConfig): number {
    return c.bodyCapBytes ?? this.options.bodyCapBytes ?? 65_536;
  }

  /** Open client connections. */
  get connectionCount(): number {
    return this.conns.size;
  }

  /** Device sign-ins in progress (each holds a device code at the issuer). */
  get deviceSignInsPending(): number {
    return this.deviceSlots.pending;
  }

  async listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    // Channel transcripts (terminal emulation) need the emulator, loaded only where SSH runs.
    await loadScreenText();
    const hostKey = loadHostKey(await this.options.pipeline.secrets.get(this.options.hostKey));
    this.hostKeyFingerprint = hostKey.fingerprint;
    this.hostPublicKey = hostKey.publicKey;
    const server = new Server({ hostKeys: [hostKey.privateKey], ident: 'Gatehouse' }, (client, info) => this.accept(client, info));
    // The kit's listener owns the sockets (graceful close); ssh2 gets each one injected.
    const tcp = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      socket.setNoDelay(true);
      server.injectSocket(socket);
    });
    this.tcp = tcp;
    const bound = await listenTcp(tcp, host, port);
    this.address = bound.address;
    this.port = bound.port;
    return { address: bound.address, port: bound.port, family: net.isIPv6(bound.address) ? 'IPv6' : 'IPv4' };
  }

  /**
   * Stops accepting, lets connections with running channels finish until `graceMs`, ends the
   * rest, and closes every session this listener opened (each records session.end).
   */
  async close(graceMs = 0): Promise<void> {
    this.draining = true;
    const tcp = this.tcp;
    this.tcp = undefined;
    if (tcp !== undefined) {
      await closeTcpGracefully<Conn>({
        server: tcp,
        connections: this.conns,
        sockets: this.sockets,
        endWhenIdle: (c) => {
          c.draining = true;
          if (c.open === 0) c.client.end();
        },
        cut: (c) => this.endConn(c, sshReason({ code: 'GH_ERR_SHUTTING_DOWN', message: 'the gateway is shutting down' })),
        graceMs,
      });
    }
    for (const s of [...this.liveSessions]) this.closeSession(s, 'shutdown');
    while (this.closing.size > 0) await Promise.all([...this.closing]);
  }

  /**
   * Ends a client connection, first telling each open channel why on its stderr with exit status
   * 126. The connection is ended only once those channels closed (or after a short grace): a
   * channel's CLOSE goes out when its writable side finishes, a tick after `end()`, while the
   * connection's DISCONNECT would go out at once, and OpenSSH exits 255 on a DISCONNECT that
   * arrives before the channel's CLOSE, losing the status and the reason.
   */
  private endConn(c: Conn, message: string): void {
    const streams = [...c.streams];
    c.streams.clear();
    let left = streams.length;
    const end = (): void => {
      clearTimeout(grace);
      c.client.end();
    };
    const grace = setTimeout(end, END_GRACE_MS);
    grace.unref();
    if (left === 0) return end();
    for (const stream of streams) {
      stream.once('close', () => {
        if (--left === 0) end();
      });
      answerOnChannel(stream, message, { lead: true });
    }
  }

  private closeSession(session: GatewaySession, reason: string): void {
    this.liveSessions.delete(session);
    if (session.closed) return;
    const p: Promise<void> = session.close(reason).catch(() => undefined).finally(() => this.closing.delete(p));
    this.closing.add(p);
  }

  /** Records a connection whose every presented key was refused as auth.failure (GH_ERR_SSH_KEY_REFUSED, the reasons in the message). */
  private authFailed(refused: readonly string[], connection: string | undefined, info: Ssh2ClientInfo): void {
    this.recordAuthFailure(new GatehouseError('GH_ERR_SSH_KEY_REFUSED', `no presented SSH key was accepted: ${refused.join('; ')}`), clientInfo(info), connection);
  }

  /** The login a presented key or certificate stands for, or why not (logged; the client sees only "denied"). */
  private login(ctx: AuthContext & { method: 'publickey' }): Login | string {
    const target = resolveTarget(ctx.username, this.options.connections);
    if (target === undefined) return 'unknown_target';
    if (ctx.key.algo === CERT_ALGO_ED25519) {
      const ca = this.options.userCa;
      if (ca === undefined) return 'certificates_not_configured';
      const cert = ca.verify(ctx.key.data, this.now());
      if (!cert.ok) return `certificate_${cert.reason}`;
      if (ctx.signature !== undefined && (ctx.blob === undefined || !verifyCertificateSignature(cert.key, ctx.blob, ctx.signature))) return 'bad_signature';
      return { principal: cert.principal, connection: target, keyFingerprint: cert.fingerprint, requestedUser: ctx.username, via: 'certificate', expiresAt: cert.expiresAt.getTime() };
    }
    const found = this.options.keys.lookup(ctx.key.data);
    if (!found.ok) return found.reason;
    if (ctx.signature !== undefined) {
      const pub = utils.parseKey(`${found.key.algo} ${ctx.key.data.toString('base64')}`);
      if (pub instanceof Error || Array.isArray(pub) || ctx.blob === undefined || pub.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return 'bad_signature';
    }
    return { principal: found.key.principal, connection: target, keyFingerprint: found.key.fingerprint, requestedUser: ctx.username, via: 'registered', expiresAt: found.key.expiresAt.getTime() };
  }

  /** Still valid for a new channel: unexpired, and (a registered key) not revoked. */
  private stillValid(login: Login): boolean {
    if (login.expiresAt <= this.now()) return false;
    return login.via !== 'registered' || (login.keyFingerprint !== null && this.options.keys.valid(login.keyFingerprint));
  }

  /** Records a refused sign-in as auth.failure (its code and message) in a short session of its own. */
  private recordAuthFailure(err: GatehouseError, client: ClientInfo, connection: string | undefined): void {
    const record = this.options.pipeline.authenticationFailed;
    if (record === undefined) return;
    const p: Promise<void> = record.call(this.options.pipeline, err, client, 'ssh', connection).finally(() => this.closing.delete(p));
    this.closing.add(p);
  }

  /**
   * Keyboard-interactive sign-in with a device code (docs/ssh.md): the issuer's verification URL
   * and user code are shown in the prompt (the prompt, not the instructions: OpenSSH shows
   * instructions only at its default log level, a prompt always, and hands it to SSH_ASKPASS);
   * the issuer is polled meanwhile. Once the client answered (any answer: the approval happens at
   * the issuer) and the issuer issued the ID token, the token is verified by the pipeline like any
   * caller's (a refusal is recorded there as auth.failure with the verifier's code), and the login
   * is bound to its principal and expiry. Every failure is recorded as auth.failure with its code,
   * told to the client (the instructions of a prompt-less request, which needs no answer) and
   * refused; the client is not offered keyboard-interactive again on that connection.
   *
   * A sign-in holds a place (device-limit.ts) from before the issuer is asked until it ends; one
   * beyond the bounds is refused at once (GH_ERR_SSH_DEVICE_LIMIT). A client that goes away before
   * the approval, or turns to another method, ends it at once (the issuer is not polled again):
   * GH_ERR_SSH_DEVICE_ABANDONED, recorded now when the client went away, and returned (for the
   * connection to record if it never logs in) when it turned to another method.
   */
  private async deviceSignIn(ctx: KeyboardAuthContext, device: DeviceLogin, info: Ssh2ClientInfo, closed: AbortSignal): Promise<Login | GatehouseError | undefined> {
    const client = clientInfo(info);
    const target = resolveTarget(ctx.username, this.options.connections);
    const fail = (err: GatehouseError, recorded = false): undefined => {
      if (!recorded) this.recordAuthFailure(err, client, target?.name);
      this.options.logger.info({ user: ctx.username, code: err.code }, 'ssh device sign-in refused');
      if (closed.aborted) return undefined;
      ctx.prompt([], '', printable(`gatehouse: ${err.code}: ${err.message}`), () => ctx.reject(['publickey']));
      return undefined;
    };
    if (target === undefined) return fail(new GatehouseError('GH_ERR_SSH_TARGET_UNKNOWN', `"${ctx.username}" names no SSH connection of this gateway (ssh CONNECTION@gateway, or USER@CONNECTION with the connection's upstream user)`));
    const release = this.deviceSlots.acquire(client.address);
    if (release instanceof GatehouseError) return fail(release);
    // Ends the poll (and the wait for the answer) when the client goes away, or starts another
    // method (ssh2 then aborts this request: its answer never comes).
    const stop = new AbortController();
    const onClosed = (): void => stop.abort();
    closed.addEventListener('abort', onClosed, { once: true });
    ctx.once('abort', onClosed);
    const abandoned = (): GatehouseError | undefined => {
      stop.abort();
      const err = new GatehouseError('GH_ERR_SSH_DEVICE_ABANDONED', closed.aborted ? 'the client went away before the sign-in was approved' : 'the client turned to another authentication method before the sign-in was approved');
      this.options.logger.info({ user: ctx.username, address: client.address, code: err.code }, 'ssh device sign-in abandoned');
      if (!closed.aborted) return err;
      this.recordAuthFailure(err, client, target.name);
      return undefined;
    };
    try {
      let auth: DeviceAuthorization;
      try {
        auth = await device.start();
      } catch (e) {
        return fail(toGatehouseError(e, 'GH_ERR_SSH_DEVICE_FAILED', 'the device sign-in could not start'));
      }
      if (stop.signal.aborted) return abandoned();
      const token = auth.idToken(stop.signal);
      token.catch(() => undefined); // awaited below, after the answer; never an unhandled rejection
      const minutes = Math.max(1, Math.round(auth.expiresIn / 60));
      const text = printable(
        `Sign in to Gatehouse: open ${auth.verificationUri} and enter the code ${auth.userCode}\n` +
          (auth.verificationUriComplete !== undefined ? `(or open ${auth.verificationUriComplete})\n` : '') +
          `The code expires in ${minutes} min. Press Enter once you approved the sign-in: `,
      );
      const answered = await new Promise<boolean>((resolve) => {
        stop.signal.addEventListener('abort', () => resolve(false), { once: true });
        ctx.prompt([{ prompt: text, echo: true }], (answers: string[] | Error) => resolve(!(answers instanceof Error)));
      });
      if (!answered || stop.signal.aborted) return abandoned();
      let idToken: string;
      try {
        idToken = await token;
      } catch (e) {
        if (stop.signal.aborted) return abandoned();
        return fail(toGatehouseError(e, 'GH_ERR_SSH_DEVICE_FAILED', 'the device sign-in failed'));
      }
      let principal: Principal;
      try {
        principal = await this.options.pipeline.authenticate(idToken, client, 'ssh', target.name);
      } catch (e) {
        return fail(toGatehouseError(e, 'GH_ERR_TOKEN_MALFORMED', 'the token could not be verified'), true);
      }
      const now = this.now();
      const expiresAt = Math.min(principal.expiresAt === undefined ? Infinity : principal.expiresAt * 1000, now + (this.options.keyTtlMs ?? 3_600_000));
      if (expiresAt <= now) return fail(new GatehouseError('GH_ERR_SSH_DEVICE_EXPIRED', 'the token the issuer issued has already expired'));
      this.options.logger.info({ subject: principal.subject, issuer: principal.issuer, connection: target.name, expiresAt: new Date(expiresAt).toISOString() }, 'ssh device sign-in');
      return { principal, connection: target, keyFingerprint: null, requestedUser: ctx.username, via: 'device', expiresAt };
    } finally {
      release();
      closed.removeEventListener('abort', onClosed);
      ctx.removeListener('abort', onClosed);
    }
  }

  private accept(client: Connection, info: Ssh2ClientInfo): void {
    const conn: Conn = { client, streams: new Set(), open: 0, draining: false, ready: undefined };
    this.conns.add(conn);
    const { logger } = this.options;
    let login: Login | undefined;
    let registering = false;
    let expiry: NodeJS.Timeout | undefined;
    let channels = 0;
    /** One device sign-in per connection: each asks the issuer for a code. */
    let deviceTried = false;
    /** A device sign-in the client turned away from: recorded if the connection never logs in. */
    let deviceAbandoned: { readonly err: GatehouseError; readonly target: string | undefined } | undefined;
    const closed = new AbortController();
    const methods = (): AuthenticationType[] => (this.options.deviceLogin !== undefined && !deviceTried ? ['publickey', 'keyboard-interactive'] : ['publickey']);
    /** Keys refused on this connection (a few): recorded as one auth.failure if it never logs in. */
    const refused: string[] = [];
    let refusedTarget: string | undefined;

    client.on('error', (err) => logger.debug({ err: err.message }, 'ssh client connection error'));

    client.on('authentication', (ctx: AuthContext) => {
      if (ctx.username === REGISTER_USER) {
        // Registration carries its OIDC token inside the channel (registration.ts), never as a password.
        if (ctx.method !== 'none') return ctx.reject(['none']);
        registering = true;
        return ctx.accept();
      }
      // Publickey, and keyboard-interactive for a device sign-in when configured: a JWT is never
      // an SSH password, and no other method is offered.
      const device = this.options.deviceLogin;
      if (ctx.method === 'keyboard-interactive' && device !== undefined && !deviceTried) {
        deviceTried = true;
        this.deviceSignIn(ctx, device, info, closed.signal).then(
          (found) => {
            if (found instanceof GatehouseError) deviceAbandoned = { err: found, target: resolveTarget(ctx.username, this.options.connections)?.name };
            if (found === undefined || found instanceof GatehouseError || closed.signal.aborted) return;
            login = found;
            ctx.accept();
          },
          (e: unknown) => {
            logger.error({ err: (e as Error)?.message }, 'ssh device sign-in failed');
            ctx.reject(['publickey']);
          },
        );
        return;
      }
      if (ctx.method !== 'publickey') return ctx.reject(methods());
      const found = this.login(ctx);
      if (typeof found === 'string') {
        logger.info({ user: ctx.username, reason: found }, 'ssh key refused');
        if (refused.length < 8) refused.push(`${fingerprint(ctx.key.data)} (${ctx.key.algo}): ${found}`);
        refusedTarget ??= resolveTarget(ctx.username, this.options.connections)?.name;
        return ctx.reject(methods());
      }
      if (ctx.signature === undefined) return ctx.accept(); // the client asks whether the key would do
      login = found;
      ctx.accept();
    });

    client.on('ready', () => {
      if (registering) return;
      if (login === undefined || this.draining) return client.end();
      const l = login;
      const agent = new ForwardedAgent(this.options.now ?? Date.now);
      conn.ready = this.open(l, info, agent);
      conn.ready.then(
        (r) => {
          this.liveSessions.add(r.session);
          // Only reached once policy allowed agent forwarding and it was requested upstream (ssh2
          // refuses agent channels otherwise): each is opened to the client and counted.
          let uses = 0;
          agent.attach(
            (cb) => openClientAgentChannel(client, cb),
            (counts) => void r.session.recordOutcome('ssh.agent.use', { use: uses++, ...counts }, conn.agentRequestId),
          );
          // The key's (or device sign-in's) expiry ends the connection (new channels check it too).
          expiry = setTimeout(() => this.endConn(conn, expiredMessage(l)), Math.min(Math.max(0, l.expiresAt - this.now()), 2_147_000_000));
          expiry.unref();
          client.once('close', () => {
            r.upstream.end();
            this.closeSession(r.session, 'client_closed');
          });
          r.upstream.on('close', () => client.end());
        },
        () => client.end(),
      );
    });

    client.on('close', () => {
      closed.abort();
      this.conns.delete(conn);
      if (expiry !== undefined) clearTimeout(expiry);
      // Refused keys are recorded once the client gave up (a client tries its keys in turn; one
      // that logs in with a later key did not fail to authenticate).
      if (login === undefined && !registering && refused.length > 0) this.authFailed(refused, refusedTarget, info);
      if (login === undefined && !registering && deviceAbandoned !== undefined) this.recordAuthFailure(deviceAbandoned.err, clientInfo(info), deviceAbandoned.target);
    });

    // Forwarding and other channel kinds: refused (recorded as policy.denied) until they are judged and recorded.
    // Local forwarding (direct-tcpip) is judged: off unless policy permits `ssh:port-forward`.
    let forwards = 0;
    client.on('tcpip', (accept, reject, i) => {
      const op = operation('ssh:port-forward', { direction: 'local', host: i.destIP, port: i.destPort }, `port forward to ${i.destIP}:${i.destPort}`);
      this.forward(conn, login, forwards++, op, i, accept, reject).catch((e: unknown) => {
        logger.error({ err: (e as Error)?.message }, 'ssh forward failed');
        reject();
      });
    });
    client.on('openssh.streamlocal', (_accept, reject, i) => {
      this.refuse(conn.ready, operation('ssh:port-forward', { direction: 'local', socket: i.socketPath }, `socket forward to ${i.socketPath}`), DECISION_CODES.sshPortForward, reject);
    });
    // Remote forwarding (tcpip-forward) is judged like local forwarding; streamlocal forwards stay
    // refused (a socket path on the upstream host is not something policy can name safely yet).
    const remotes = new Map<string, RemoteForward>();
    client.on('request', (accept, reject, name, i) => {
      const bind = i as { bindAddr?: string; bindPort?: number };
      if (name === 'tcpip-forward' && typeof bind.bindAddr === 'string' && typeof bind.bindPort === 'number') {
        const b = { bindAddr: bind.bindAddr, bindPort: bind.bindPort };
        this.remoteForward(conn, login, forwards++, b, remotes).then(
          (port) => (port === undefined ? reject?.() : (accept as ((p?: number) => void) | undefined)?.(b.bindPort === 0 ? port : undefined)),
          (e: unknown) => {
            logger.error({ err: (e as Error)?.message }, 'ssh remote forward failed');
            reject?.();
          },
        );
        return;
      }
      if (name === 'cancel-tcpip-forward' && typeof bind.bindAddr === 'string' && typeof bind.bindPort === 'number') {
        this.cancelRemoteForward(conn, { bindAddr: bind.bindAddr, bindPort: bind.bindPort }, remotes).then(
          (ok) => (ok ? (accept as (() => void) | undefined)?.() : reject?.()),
          () => reject?.(),
        );
        return;
      }
      this.refuse(conn.ready, operation('ssh:port-forward', { direction: 'remote', request: name, host: bind.bindAddr ?? '', port: bind.bindPort ?? 0 }, `${name} ${bind.bindAddr ?? ''}:${bind.bindPort ?? ''}`), DECISION_CODES.sshPortForward, () => reject?.());
    });

    client.on('session', (acceptSession, rejectSession) => {
      if (registering) {
        this.registrationSession(acceptSession(), info);
        return;
      }
      if (conn.draining || this.draining) return rejectSession();
      const s: Session = acceptSession();
      const channel = channels++;
      conn.open++;
      let done = false;
      const finished = (): void => {
        if (done) return;
        done = true;
        conn.open--;
        if (conn.open === 0 && conn.draining) client.end();
      };
      s.once('close', finished);
      let pty: PseudoTtyInfo | undefined;
      let resize: ((cols: number, rows: number, width: number, height: number) => void) | undefined;
      s.on('pty', (accept, _reject, i) => {
        pty = i;
        accept?.();
      });
      // The latest size is kept whatever the channel's state: a change that arrives while the
      // channel is judged or held for an approval is applied once it is bridged (channel()).
      s.on('window-change', (accept, _reject, i) => {
        if (pty !== undefined) pty = { ...pty, cols: i.cols, rows: i.rows, width: i.width, height: i.height };
        resize?.(i.cols, i.rows, i.width, i.height);
        accept?.();
      });
      s.on('env', (_accept, reject) => reject?.());
      s.on('signal', (accept) => accept?.());
      // Judged when asked (before the shell or exec it is for); the channel then waits for the
      // judgment and asks for forwarding upstream only when it was allowed.
      let agentAllowed: Promise<boolean> | undefined;
      s.on('auth-agent', (accept, reject) => {
        agentAllowed = this.agentForward(conn, login, channel);
        agentAllowed.then(
          (ok) => (ok ? accept?.() : reject?.()),
          () => reject?.(),
        );
      });
      s.on('x11', (_accept, reject) => {
        this.refuse(conn.ready, operation('ssh:x11', {}, 'X11 forwarding'), DECISION_CODES.sshPortForward, () => reject?.());
      });
      // No 'sftp' listener: ssh2 then hands the SFTP subsystem over as a raw channel (its own SFTP
      // server would answer the client itself); the gateway parses it between the two ends.
      s.on('subsystem', (accept, reject, i) => {
        if (i.name === 'sftp') {
          this.sftp(conn, login, channel, accept as () => ServerChannel | undefined).catch((e: unknown) => logger.error({ err: (e as Error)?.message }, 'ssh sftp channel failed'));
          return;
        }
        this.refuse(conn.ready, operation('ssh:subsystem', { subsystem: i.name }, `subsystem ${i.name}`), DECISION_CODES.sshSubsystem, () => reject?.());
      });
      // The request is accepted at once and judged after: a client may send EOF (stdin at its
      // end) before judging finishes, and ssh2 accepts no request on a channel in EOF. Until the
      // upstream channel is bridged nothing is forwarded; a refusal is answered on the channel.
      const start = (op: Operation, kind: 'shell' | 'exec', command: string | null, accept: () => ServerChannel | undefined): void => {
        const stream = accept();
        if (stream === undefined) return;
        // Tracked from acceptance: a connection ended while the channel is judged or held for an
        // approval still tells it why (endConn), and it is then not bridged.
        conn.streams.add(stream);
        stream.once('close', () => conn.streams.delete(stream));
        this.channel(conn, login, channel, op, kind, command, () => pty, stream, agentAllowed).then(
          (r) => (resize = r),
          (e: unknown) => {
            logger.error({ err: (e as Error)?.message }, 'ssh channel failed');
            stream.destroy();
          },
        );
      };
      s.on('exec', (accept, _reject, i) => start(operation('ssh:exec', { command: i.command, pty: pty !== undefined, hazards: commandHazards(i.command) }, `exec ${i.command}`), 'exec', i.command, accept as () => ServerChannel | undefined));
      s.on('shell', (accept) => start(operation('ssh:shell', { pty: pty !== undefined }, 'shell'), 'shell', null, accept as () => ServerChannel | undefined));
    });
  }

  /**
   * The registration channel of `gatehouse ssh-key`: one `register-key` exec whose stdin is a JSON
   * line `{token, publicKey}`; answered with a JSON line on stdout (fingerprint, expiry and, with a
   * user CA, the certificate), or `gatehouse: <code>: <message>` on stderr and exit status 1.
   */
  private registrationSession(s: Session, info: Ssh2ClientInfo): void {
    s.on('exec', (accept, reject, i) => {
      if (i.command !== REGISTER_COMMAND) return reject?.();
      const ch = accept();
      let input = '';
      let answered = false;
      const answer = (code: number, out: string, err: string): void => {
        if (answered) return;
        answered = true;
        if (out) ch.write(out);
        if (err) ch.stderr.write(err);
        ch.exit(code);
        ch.end();
      };
      ch.on('data', (d: Buffer) => {
        input += d.toString('utf8');
        if (input.length > 64 * 1024) answer(1, '', 'gatehouse: GH_ERR_REQUEST_INVALID: registration request too large\n');
      });
      ch.on('end', () => {
        this.register(input, info).then(
          (result) => answer(0, `${JSON.stringify(result)}\n`, ''),
          (e: unknown) => {
            const err = toGatehouseError(e, 'GH_ERR_INTERNAL', 'registration failed');
            answer(1, '', `gatehouse: ${err.code}: ${err.message}\n`);
          },
        );
      });
    });
  }

  /** Verifies the caller's token (an auth.failure is recorded when it fails) and registers or certifies the key. */
  private async register(input: string, info: Ssh2ClientInfo): Promise<Record<string, unknown>> {
    let req: { token?: unknown; publicKey?: unknown };
    try {
      req = JSON.parse(input) as typeof req;
    } catch {
      throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'the registration request is not JSON');
    }
    if (typeof req.publicKey !== 'string') throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'publicKey is missing');
    const key = parsePublicKey(req.publicKey);
    const principal = await this.options.pipeline.authenticate(typeof req.token === 'string' ? req.token : undefined, { address: info.ip, port: info.port, userAgent: info.header.versions.software }, 'ssh');
    const now = this.now();
    const until = new Date(now + (this.options.keyTtlMs ?? 3_600_000));
    const registered = this.options.keys.registerKey(principal, key, until);
    const out: Record<string, unknown> = { fingerprint: registered.fingerprint, expiresAt: registered.expiresAt.toISOString(), subject: principal.subject, hostKey: this.hostPublicKey };
    if (this.options.userCa !== undefined && key.algo === 'ssh-ed25519') {
      // Backdated a little: a client clock slightly behind must not see a certificate from the future.
      const cert = this.options.userCa.issue(key, principal, new Date(now - 60_000), registered.expiresAt);
      out.certificate = cert.line;
    }
    this.options.logger.info({ subject: principal.subject, issuer: principal.issuer, fingerprint: registered.fingerprint, expiresAt: out.expiresAt, certificate: out.certificate !== undefined }, 'ssh key registered');
    return out;
  }

  /** After authentication: the gateway session, then the upstream connection (recorded either way). */
  private async open(login: Login, info: Ssh2ClientInfo, agent: ForwardedAgent): Promise<Ready> {
    const { pipeline } = this.options;
    const { principal, connection, keyFingerprint, requestedUser } = login;
    const session = await pipeline.openSession(principal, connection, 'ssh', { address: info.ip, port: info.port, userAgent: info.header.versions.software });
    const upstreamName = `${connection.upstream.host}:${connection.upstream.port}`;
    try {
      const key = await pipeline.secrets.get(connection.upstream.privateKey);
      const up = await connectUpstream(connection, key, this.options.upstreamTimeoutMs ?? 10_000, agent);
      await session.recordRequest('ssh.session.open', {
        upstream: upstreamName,
        upstreamUser: connection.upstream.user,
        requestedUser,
        login: login.via,
        clientKey: keyFingerprint,
        upstreamHostKey: up.hostKeyFingerprint,
      });
      return { session, upstream: up.client, connection };
    } catch (e) {
      const err = toGatehouseError(e, 'GH_ERR_UPSTREAM_UNAVAILABLE', 'upstream unavailable');
      const reason = e instanceof SshUpstreamError ? e.reason : isGatehouseError(e) && e.code === 'GH_ERR_SECRET_UNAVAILABLE' ? 'secret_unavailable' : 'unreachable';
      session.recordOutcome('ssh.upstream_error', { upstream: upstreamName, code: err.code, reason, message: err.message }, session.newRequestId());
      const closing = session.close(reason === 'host_key_mismatch' ? 'upstream_host_key_mismatch' : 'upstream_unavailable').catch(() => undefined);
      this.closing.add(closing);
      await closing;
      this.closing.delete(closing);
      throw err;
    }
  }

  /**
   * A local port forward: judged by policy (a denial is recorded and counted), recorded as
   * `ssh.forward.open` when allowed, opened from the upstream host and piped both ways, its bytes
   * counted in `ssh.forward.close`. Refused on the wire (administratively prohibited) otherwise.
   */
  private async forward(
    conn: Conn,
    login: Login | undefined,
    forward: number,
    op: Operation,
    info: { srcIP: string; srcPort: number; destIP: string; destPort: number },
    accept: () => ServerChannel,
    reject: () => void,
  ): Promise<void> {
    if (conn.ready === undefined || login === undefined || !this.stillValid(login) || this.draining) return reject();
    const r = await conn.ready.catch(() => undefined);
    if (r === undefined) return reject();
    const { session, upstream } = r;
    const requestId = session.newRequestId();
    try {
      const decision = await session.admit(op, requestId, { type: 'ssh.forward.open', payload: { forward, direction: 'local', host: info.destIP, port: info.destPort } });
      if (decision.effect !== 'allow') return reject();
    } catch {
      return reject();
    }
    const up = await new Promise<import('ssh2').ClientChannel | undefined>((resolve) =>
      upstream.forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort, (err, ch) => resolve(err ? undefined : ch)),
    );
    if (up === undefined) {
      const c = r.connection.upstream;
      session.recordOutcome('ssh.upstream_error', { upstream: `${c.host}:${c.port}`, code: 'GH_ERR_UPSTREAM_UNAVAILABLE', reason: 'channel_failed', message: `the upstream could not open ${info.destIP}:${info.destPort}` }, requestId);
      return reject();
    }
    const down = accept();
    const opened = this.now();
    let bytesIn = 0;
    let bytesOut = 0;
    down.on('error', () => undefined);
    up.on('error', () => undefined);
    down.on('data', (d: Buffer) => (bytesIn += d.length));
    up.on('data', (d: Buffer) => (bytesOut += d.length));
    down.pipe(up).pipe(down);
    let closed = false;
    const done = (): void => {
      if (closed) return;
      closed = true;
      session.recordOutcome('ssh.forward.close', { forward, t: this.now() - opened, bytesIn, bytesOut }, requestId);
      down.destroy();
      up.close();
    };
    down.once('close', done);
    up.once('close', done);
  }

  /**
   * A remote port forward (`ssh -R`, global request `tcpip-forward`): judged as `ssh:port-forward`
   * with direction `remote` and the bind address and port the client asked for (a denial is
   * recorded), recorded as `ssh.forward.open` when allowed, then asked of the upstream host.
   * Resolves to the port the upstream bound (the one it allocated when 0 was asked), undefined
   * when refused. Each connection the upstream then forwards is opened to the client (remoteChannel).
   */
  private async remoteForward(conn: Conn, login: Login | undefined, forward: number, bind: { bindAddr: string; bindPort: number }, remotes: Map<string, RemoteForward>): Promise<number | undefined> {
    if (conn.ready === undefined || login === undefined || !this.stillValid(login) || this.draining) return undefined;
    const r = await conn.ready.catch(() => undefined);
    if (r === undefined) return undefined;
    const { session, upstream } = r;
    const requestId = session.newRequestId();
    const op = operation('ssh:port-forward', { direction: 'remote', host: bind.bindAddr, port: bind.bindPort }, `remote port forward on ${bind.bindAddr}:${bind.bindPort}`);
    try {
      const decision = await session.admit(op, requestId, { type: 'ssh.forward.open', payload: { forward, direction: 'remote', host: bind.bindAddr, port: bind.bindPort } });
      if (decision.effect !== 'allow') return undefined;
    } catch {
      return undefined;
    }
    // One listener per upstream connection: each forwarded connection is matched to its forward.
    if (!upstreamListening.has(upstream)) {
      upstreamListening.add(upstream);
      upstream.on('tcp connection', (info, acceptUp, rejectUp) => this.remoteChannel(conn, login, r, remotes.get(`${info.destIP}:${info.destPort}`), info, acceptUp, rejectUp));
    }
    const port = await new Promise<number | undefined>((resolve) => {
      try {
        upstream.forwardIn(bind.bindAddr, bind.bindPort, (err, p) => resolve(err ? undefined : p));
      } catch {
        resolve(undefined);
      }
    });
    if (port === undefined) {
      const c = r.connection.upstream;
      session.recordOutcome('ssh.upstream_error', { upstream: `${c.host}:${c.port}`, code: 'GH_ERR_UPSTREAM_UNAVAILABLE', reason: 'channel_failed', message: `the upstream could not listen on ${bind.bindAddr}:${bind.bindPort}` }, requestId);
      return undefined;
    }
    remotes.set(`${bind.bindAddr}:${port}`, { forward, requestId, bindAddr: bind.bindAddr, port, connections: 0 });
    return port;
  }

  /** `cancel-tcpip-forward`: only a forward this connection set up; passed on to the upstream. */
  private async cancelRemoteForward(conn: Conn, bind: { bindAddr: string; bindPort: number }, remotes: Map<string, RemoteForward>): Promise<boolean> {
    const key = `${bind.bindAddr}:${bind.bindPort}`;
    const f = remotes.get(key);
    const r = conn.ready === undefined ? undefined : await conn.ready.catch(() => undefined);
    if (f === undefined || r === undefined) return false;
    remotes.delete(key);
    return new Promise<boolean>((resolve) => {
      try {
        r.upstream.unforwardIn(f.bindAddr, f.port, (err) => resolve(err === undefined || err === null));
      } catch {
        resolve(false);
      }
    });
  }

  /**
   * A connection the upstream host forwards (`forwarded-tcpip`) on an allowed remote forward:
   * opened to the client and piped both ways, its bytes counted in `ssh.forward.close` (with the
   * connection's number on the forward). Refused when the forward is unknown or the login no longer valid.
   */
  private remoteChannel(
    conn: Conn,
    login: Login,
    r: Ready,
    f: RemoteForward | undefined,
    info: { srcIP: string; srcPort: number },
    acceptUp: () => import('ssh2').ClientChannel,
    rejectUp: () => void,
  ): void {
    if (f === undefined || !this.stillValid(login) || this.draining || conn.draining) return rejectUp();
    const connection = f.connections++;
    conn.client.forwardOut(f.bindAddr, f.port, info.srcIP, info.srcPort, (err, down) => {
      if (err) return rejectUp();
      const up = acceptUp();
      const opened = this.now();
      let bytesIn = 0;
      let bytesOut = 0;
      down.on('error', () => undefined);
      up.on('error', () => undefined);
      down.on('data', (d: Buffer) => (bytesIn += d.length));
      up.on('data', (d: Buffer) => (bytesOut += d.length));
      down.pipe(up).pipe(down);
      let closed = false;
      const done = (): void => {
        if (closed) return;
        closed = true;
        r.session.recordOutcome('ssh.forward.close', { forward: f.forward, connection, t: this.now() - opened, bytesIn, bytesOut }, f.requestId);
        down.destroy();
        up.close();
      };
      down.once('close', done);
      up.once('close', done);
    });
  }

  /**
   * Agent forwarding asked on a session channel: judged as `ssh:agent-forward` (a denial, by
   * default for want of a permit, is recorded as policy.denied), recorded as `ssh.agent.forward`
   * when allowed. Never throws: anything but an allow is false.
   */
  private async agentForward(conn: Conn, login: Login | undefined, channel: number): Promise<boolean> {
    if (conn.ready === undefined || login === undefined || !this.stillValid(login) || this.draining) return false;
    const r = await conn.ready.catch(() => undefined);
    if (r === undefined) return false;
    const requestId = r.session.newRequestId();
    try {
      const decision = await r.session.admit(operation('ssh:agent-forward', {}, 'agent forwarding'), requestId, { type: 'ssh.agent.forward', payload: { channel } });
      if (decision.effect !== 'allow') return false;
    } catch {
      return false;
    }
    conn.agentRequestId = requestId;
    return true;
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
   * Answers a refused channel on its stderr with exit status 126, so scripts see why. Nothing is
   * answered on a channel no longer tracked: ended under the judgment (endConn told the client
   * why) or closed by the client.
   */
  private refuseOnChannel(conn: Conn, stream: ServerChannel, message: string): undefined {
    if (!conn.streams.has(stream)) return undefined;
    answerOnChannel(stream, message);
    return undefined;
  }

  /**
   * What every channel kind (shell, exec, SFTP) passes before it is opened upstream: the upstream
   * connection is ready, the login is still valid (unexpired, a registered key not revoked), the
   * gateway accepts new channels, and `session.admit` allows the operation (recording `request`
   * with the decision). A channel waiting for an approval whose client goes away cancels it
   * (recorded as approval.cancelled). Returns the connection and the operation's request id, or
   * undefined once the refusal was answered on the channel.
   */
  private async admitChannel<T extends EventType>(conn: Conn, login: Login | undefined, stream: ServerChannel, op: Operation, request: RequestEvent<T>): Promise<{ r: Ready; requestId: string } | undefined> {
    stream.on('error', () => undefined);
    const r = conn.ready === undefined || login === undefined ? undefined : await conn.ready.catch(() => undefined);
    if (r === undefined || login === undefined) return this.refuseOnChannel(conn, stream, sshReason({ code: 'GH_ERR_UPSTREAM_UNAVAILABLE', message: 'the upstream connection is not available' }));
    if (!this.stillValid(login)) return this.refuseOnChannel(conn, stream, expiredMessage(login));
    if (this.draining) return this.refuseOnChannel(conn, stream, sshReason({ code: 'GH_ERR_SHUTTING_DOWN', message: 'the gateway is not accepting new channels' }));
    const notAccepting = this.options.pipeline.notAccepting();
    if (notAccepting !== undefined) return this.refuseOnChannel(conn, stream, sshReason(notAccepting));
    const requestId = r.session.newRequestId();
    try {
      const signal = (): AbortSignal => {
        const ac = new AbortController();
        stream.once('close', () => ac.abort());
        return ac.signal;
      };
      const decision = await r.session.admit(op, requestId, request, { signal });
      if (decision.effect !== 'allow') return this.refuseOnChannel(conn, stream, sshRefusalReason(decision));
    } catch (e) {
      const err = toGatehouseError(e, 'GH_ERR_POLICY_FAILED', 'the channel could not be judged or recorded');
      return this.refuseOnChannel(conn, stream, sshReason(err));
    }
    return { r, requestId };
  }

  /**
   * The SFTP subsystem: accepted at once (OpenSSH's client sends its INIT before the subsystem
   * request is answered, and ssh2 drops data on a channel not yet accepted; unread, it waits in the
   * channel within the SSH window), judged as `ssh:sftp` (its `ssh.sftp.open` recorded with the
   * decision), opened upstream, then bridged by SftpBridge, which judges every file operation. A
   * refusal is answered on the channel's stderr with exit status 126, as for exec.
   */
  private async sftp(conn: Conn, login: Login | undefined, channel: number, accept: () => ServerChannel | undefined): Promise<void> {
    const stream = accept();
    if (stream === undefined) return;
    conn.streams.add(stream);
    stream.once('close', () => conn.streams.delete(stream));
    const admitted = await this.admitChannel(conn, login, stream, operation('ssh:sftp', { subsystem: 'sftp' }, 'sftp'), { type: 'ssh.sftp.open', payload: { channel } });
    if (admitted === undefined) return;
    const { r, requestId } = admitted;
    const { session } = r;
    let up: import('ssh2').ClientChannel;
    try {
      up = await upstreamSubsystem(r.upstream, 'sftp');
    } catch (e) {
      const err = toGatehouseError(e, 'GH_ERR_UPSTREAM_UNAVAILABLE', 'upstream channel failed');
      const c = r.connection.upstream;
      session.recordOutcome('ssh.upstream_error', { upstream: `${c.host}:${c.port}`, code: err.code, reason: 'channel_failed', message: err.message }, requestId);
      return this.refuseOnChannel(conn, stream, `${err.code}: the upstream refused the SFTP subsystem`);
    }
    if (!conn.streams.has(stream)) {
      up.close();
      return;
    }
    new SftpBridge(session, channel, stream, up, this.options.now ?? Date.now, { capBytes: this.contentCap(r.connection), masking: this.options.masking?.(r.connection) });
  }

  /**
   * A shell or exec channel: judged (its `ssh.channel.open` recorded with the decision when
   * allowed), then opened upstream and bridged. A refusal is answered on the channel's stderr
   * with the decision code and exit status 126, so scripts see why.
   */
  private async channel(
    conn: Conn,
    login: Login | undefined,
    channel: number,
    op: Operation,
    kind: 'shell' | 'exec',
    command: string | null,
    size: () => PseudoTtyInfo | undefined,
    stream: ServerChannel,
    agentAllowed: Promise<boolean> | undefined,
  ): Promise<((cols: number, rows: number, width: number, height: number) => void) | undefined> {
    // The size the channel asked for (recorded at its open), and the latest one from each step on:
    // window changes keep arriving while the channel is judged, held and opened upstream.
    const pty = size();
    const admitted = await this.admitChannel(conn, login, stream, op, { type: 'ssh.channel.open', payload: { channel, kind, command, pty: ptySize(pty) } });
    if (admitted === undefined) return undefined;
    const { r, requestId } = admitted;
    const { session, upstream } = r;
    // Opened upstream at the latest size, so a command that reads it at once sees the real one.
    const latest = size();
    const ptyOptions = latest === undefined ? undefined : { rows: latest.rows, cols: latest.cols, height: latest.height, width: latest.width, term: latest.term };
    const agentForward = (await agentAllowed?.catch(() => false)) === true;
    let up;
    try {
      up = kind === 'exec' ? await upstreamExec(upstream, command ?? '', ptyOptions, agentForward) : await upstreamShell(upstream, ptyOptions, agentForward);
    } catch (e) {
      const err = toGatehouseError(e, 'GH_ERR_UPSTREAM_UNAVAILABLE', 'upstream channel failed');
      const c = r.connection.upstream;
      session.recordOutcome('ssh.upstream_error', { upstream: `${c.host}:${c.port}`, code: err.code, reason: 'channel_failed', message: err.message }, requestId);
      return this.refuseOnChannel(conn, stream, `${err.code}: the upstream refused the channel`);
    }
    if (!conn.streams.has(stream)) {
      up.close();
      return undefined;
    }
    const masking = this.options.masking?.(r.connection);
    const recorder = new TerminalRecorder(channel, this.options.now ?? Date.now, masking, ptySize(pty));
    const scp = kind === 'exec' ? scpTap(channel, command, this.contentCap(r.connection), masking) : undefined;
    const bridge = bridgeChannel(session, requestId, stream, up, recorder, scp);
    // A change that arrived before the bridge: recorded (ssh.resize) and applied upstream (a no-op
    // there when the upstream channel was opened at it already).
    const now = size();
    if (pty !== undefined && now !== undefined && (now.cols !== pty.cols || now.rows !== pty.rows)) bridge.resize(now.cols, now.rows, now.width, now.height);
    return (cols, rows, width, height) => bridge.resize(cols, rows, width, height);
  }
}
