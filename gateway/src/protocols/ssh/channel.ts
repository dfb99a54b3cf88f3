import type { Readable, Writable } from 'node:stream';
import type { ClientChannel, ServerChannel } from 'ssh2';
import { toGatehouseError, type GatehouseError } from '../../errors';
import type { GatewaySession } from '../../pipeline/types';
import { answerOnChannel, FAILED_EXIT_STATUS, sshReason } from './errors';
import type { ScpEvent, ScpTap } from './scp';
import type { TerminalEvent, TerminalRecorder } from './terminal-recorder';

/** How often a chunk held by a full recorder buffer is offered again, and for how long before the channel fails closed. */
const OVERLOAD_RETRY_MS = 20;
const OVERLOAD_PATIENCE_MS = 30_000;

/** Records one terminal event after forwarding began (never throws; the recorder counts failures). */
function recordTerminal(session: GatewaySession, e: TerminalEvent, requestId: string): void {
  switch (e.type) {
    case 'ssh.data':
      session.recordOutcome('ssh.data', e.payload, requestId);
      return;
    case 'ssh.resize':
      session.recordOutcome('ssh.resize', e.payload, requestId);
      return;
    case 'ssh.exit':
      session.recordOutcome('ssh.exit', e.payload, requestId);
      return;
    case 'ssh.transcript':
      session.recordOutcome('ssh.transcript', e.payload, requestId);
      return;
  }
}

function recordScp(session: GatewaySession, e: ScpEvent, requestId: string): void {
  if (e.type === 'ssh.scp.file') session.recordOutcome('ssh.scp.file', e.payload, requestId);
  else session.recordOutcome('ssh.file.content', e.payload, requestId);
}

/**
 * Joins the client's channel to the upstream's, recording every chunk in both directions, the
 * exit status and the end. A chunk is recorded (masked) before it is passed on; when masking
 * fails the channel is closed and `masking.failed` recorded: what could not be masked is neither
 * recorded in the clear nor delivered.
 *
 * A legacy SCP transfer (`scp`, the tap) has its file-carrying stream parsed into file records
 * (scp.ts) instead of terminal text; should that stream break the SCP protocol, the rest of it is
 * recorded as any channel's.
 */
export function bridgeChannel(
  session: GatewaySession,
  requestId: string,
  client: ServerChannel,
  upstream: ClientChannel,
  recorder: TerminalRecorder,
  scp?: ScpTap,
): { resize(cols: number, rows: number, width: number, height: number): void } {
  let broken = false;
  // Either side may be ended under the other (expiry, shutdown, a peer that went away): a late
  // write then fails on a closed stream, which must not crash the gateway.
  client.on('error', () => undefined);
  upstream.on('error', () => undefined);
  const fail = (e: unknown): void => {
    if (broken) return;
    broken = true;
    const err = toGatehouseError(e, 'GH_ERR_MASKING_FAILED', 'masking failed');
    session.recordOutcome('masking.failed', { code: err.code, phase: 'result', message: err.message }, requestId);
    answerOnChannel(client, sshReason({ code: err.code, message: 'the output could not be masked; the channel is closed' }), { status: FAILED_EXIT_STATUS });
    upstream.close();
  };
  /** The recorder could not take a chunk's event: nothing more passes, the channel is closed. */
  const failRecording = (err: GatehouseError): void => {
    if (broken) return;
    broken = true;
    answerOnChannel(client, sshReason({ code: err.code, message: 'the channel could not be recorded; it is closed' }), { status: FAILED_EXIT_STATUS });
    upstream.close();
  };
  /**
   * Records a chunk's event, then passes the chunk on. A full recorder buffer holds the chunk and
   * pauses its stream (the SSH window stops growing, so the sender waits) until the store caught
   * up; a chunk is never passed on unrecorded (it was, before: the event was refused and the bytes
   * went through).
   */
  const recordThenDeliver = (e: Extract<TerminalEvent, { type: 'ssh.data' }>, deliver: () => void, source: Readable, since = Date.now()): void => {
    try {
      session.recordBeforePassing('ssh.data', e.payload, requestId);
    } catch (err) {
      const g = toGatehouseError(err, 'GH_ERR_RECORDING_FAILED');
      if (g.code !== 'GH_ERR_RECORDING_OVERLOADED' || Date.now() - since > OVERLOAD_PATIENCE_MS) return failRecording(g);
      source.pause();
      setTimeout(() => {
        if (broken) return;
        recordThenDeliver(e, () => {
          // resume() takes effect on the next tick: a deliver that meets a full sink pauses again first.
          source.resume();
          deliver();
        }, source, since);
      }, OVERLOAD_RETRY_MS);
      return;
    }
    deliver();
  };
  const pass = (stream: 'stdout' | 'stderr' | 'stdin', chunk: Buffer, deliver: () => void, source: Readable): void => {
    if (broken) return;
    if (scp !== undefined && stream === scp.stream && scp.parser.broken === undefined) {
      for (const f of scp.parser.push(chunk)) recordScp(session, f, requestId);
      // Parsed: its files are recorded. Broken inside this chunk: the chunk is recorded as text too.
      if (scp.parser.broken === undefined) return deliver();
    }
    let e: TerminalEvent | undefined;
    try {
      e = recorder.data(stream, chunk);
    } catch (err) {
      fail(err);
      return;
    }
    if (e === undefined) return deliver();
    if (e.type === 'ssh.data') return recordThenDeliver(e, deliver, source);
    recordTerminal(session, e, requestId);
    deliver();
  };
  // Backpressure: a side that cannot take more pauses the other (its SSH window then stops
  // growing, so the sender waits): a fast upstream and a slow client hold at most a window each.
  const flow = (stream: 'stdout' | 'stderr' | 'stdin', source: Readable, sink: Writable) => (d: Buffer) =>
    pass(stream, d, () => {
      if (!sink.write(d)) {
        source.pause();
        sink.once('drain', () => source.resume());
      }
    }, source);
  upstream.on('data', flow('stdout', upstream, client));
  upstream.stderr.on('data', flow('stderr', upstream.stderr, client.stderr));
  client.on('data', flow('stdin', client, upstream));
  client.on('end', () => upstream.end());
  client.on('close', () => upstream.close());
  upstream.on('exit', (code: number | null, signal?: string, dump?: boolean | string, desc?: string) => {
    if (broken) return;
    if (typeof code === 'number') {
      recordTerminal(session, recorder.exit(code), requestId);
      client.exit(code);
    } else {
      recordTerminal(session, recorder.exit(null, signal), requestId);
      if (signal !== undefined) client.exit(signal, dump === true, desc ?? '');
    }
  });
  upstream.on('close', () => {
    if (!broken) {
      if (scp !== undefined) for (const f of scp.parser.end()) recordScp(session, f, requestId);
      try {
        for (const e of recorder.end()) recordTerminal(session, e, requestId);
      } catch (err) {
        fail(err);
        return;
      }
    }
    client.end();
  });
  return {
    resize(cols, rows, width, height) {
      if (broken) return;
      recordTerminal(session, recorder.resize(cols, rows), requestId);
      upstream.setWindow(rows, cols, height, width);
    },
  };
}
