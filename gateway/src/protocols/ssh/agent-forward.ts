import { Duplex } from 'node:stream';
import { BaseAgent, type Connection, type ParsedKey, type SignCallback } from 'ssh2';

/** Opens an `auth-agent@openssh.com` channel to the client (the gateway's server side). */
export type OpenClientAgent = (cb: (err: Error | undefined, channel: Duplex | undefined) => void) => void;

/** Bytes one agent channel carried, reported when it ends. */
export interface AgentChannelCounts {
  /** Milliseconds it was open. */
  readonly t: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/**
 * The upstream connection's "agent": never used to authenticate upstream (connectUpstream offers
 * only the brokered key), only handed to ssh2 so that, once agent forwarding was allowed and
 * requested on an upstream session channel, an `auth-agent@openssh.com` channel the upstream host
 * opens is answered by opening one to the client (ssh2 pipes the two). Until `attach` nothing is
 * opened. Bytes are counted, never parsed: the agent protocol carries key blobs and data to sign.
 */
export class ForwardedAgent extends BaseAgent {
  constructor(private readonly now: () => number) {
    super();
  }

  private open: OpenClientAgent | undefined;
  private ended: ((counts: AgentChannelCounts) => void) | undefined;

  /** Set once the upstream connection and the session are ready (the client side to open, where ends are reported). */
  attach(open: OpenClientAgent, ended: (counts: AgentChannelCounts) => void): void {
    this.open = open;
    this.ended = ended;
  }

  override getIdentities(cb: (err: Error | undefined, keys?: ParsedKey[]) => void): void {
    cb(new Error('the forwarded agent is not used to authenticate upstream'));
  }

  override sign(_key: unknown, _data: Buffer, options: unknown, cb?: SignCallback): void {
    const done = (typeof options === 'function' ? options : cb) as SignCallback | undefined;
    done?.(new Error('the forwarded agent is not used to authenticate upstream'));
  }

  override getStream(cb: (err: Error | undefined, stream?: Duplex) => void): void {
    const open = this.open;
    const ended = this.ended;
    if (open === undefined || ended === undefined) return cb(new Error('agent forwarding is not set up'));
    open((err, channel) => {
      if (err !== undefined || channel === undefined) return cb(err ?? new Error('the client refused the agent channel'));
      const opened = this.now();
      cb(undefined, countingDuplex(channel, (bytesIn, bytesOut) => ended({ t: this.now() - opened, bytesIn, bytesOut })));
    });
  }
}

/**
 * Wraps the client's agent channel: what ssh2 writes (the upstream host's requests) goes to it,
 * what it sends (the agent's answers) is read; bytes each way are counted and reported once,
 * when either end closes.
 */
function countingDuplex(channel: Duplex, ended: (bytesIn: number, bytesOut: number) => void): Duplex {
  let bytesIn = 0;
  let bytesOut = 0;
  let reported = false;
  const report = (): void => {
    if (reported) return;
    reported = true;
    ended(bytesIn, bytesOut);
  };
  const wrapper = new Duplex({
    write(chunk: Buffer, _enc, done) {
      bytesIn += chunk.length;
      channel.write(chunk, (e) => done(e ?? undefined));
    },
    final(done) {
      channel.end();
      done();
    },
    read() {
      channel.resume();
    },
    destroy(err, done) {
      channel.destroy();
      report();
      done(err);
    },
  });
  channel.on('data', (d: Buffer) => {
    bytesOut += d.length;
    if (!wrapper.push(d)) channel.pause();
  });
  channel.on('end', () => wrapper.push(null));
  channel.on('error', () => undefined);
  channel.once('close', () => {
    report();
    wrapper.destroy();
  });
  return wrapper;
}

/** The parts of ssh2 1.17's server-side connection that open a channel to the client. */
interface Ssh2ServerInternals {
  readonly _chanMgr?: { add(handler: unknown): number };
  readonly _protocol?: { openssh_authAgent?(channel: number, initWindow: number, maxPacket: number): void };
}

/**
 * Opens an `auth-agent@openssh.com` channel to the client. ssh2's server side has no public
 * method for it (its Protocol writes the message; the open confirmation is handled like any
 * channel the server opens), so this does what its `forwardOut` does, with the same window and
 * packet size as ssh2's Channel. ssh2 is pinned; without those internals it fails (no agent).
 */
export function openClientAgentChannel(client: Connection, cb: (err: Error | undefined, channel: Duplex | undefined) => void): void {
  const internals = client as unknown as Ssh2ServerInternals;
  const protocol = internals._protocol;
  if (internals._chanMgr === undefined || protocol?.openssh_authAgent === undefined) return cb(new Error('this ssh2 cannot open agent channels'), undefined);
  const opened = Object.assign((err: Error | undefined, channel: Duplex | undefined) => cb(err ?? undefined, err ? undefined : channel), { type: 'auth-agent@openssh.com' });
  const local = internals._chanMgr.add(opened);
  if (local === -1) return cb(new Error('no free channels'), undefined);
  protocol.openssh_authAgent(local, 2 * 1024 * 1024, 32 * 1024);
}
