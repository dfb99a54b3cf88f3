import { join } from 'node:path';
import { createSessionPageService, sessionUrls, toAsciicast, type ChannelRecording } from '../../../../../gateway/src/admin/console/session-page';
import type { AuditEvent } from '../../../../../gateway/src/recording/events';
import { exportSession, type SessionTranscript } from '../../../../../gateway/src/recording/reader';
import { GatehouseRecorder } from '../../../../../gateway/src/recording/recorder';
import { FsLogSink } from '../../../../../gateway/src/recording/sinks/fs/fs-sink';
import { FileWitness } from '../../../../../gateway/src/recording/witness';
import { generateDevSigningKey } from '../../../../../gateway/src/recording/signer';
import { makeTempDir, PRINCIPAL, recorderOptions, synthetic, TEST_KEY } from '../../../../support/recording-helpers';

/** A terminal session's events as the SSH recorder shapes them (typed by their payload, not yet registered here). */
function terminalEvents(): { type: string; payload: Record<string, unknown> }[] {
  return [
    { type: 'ssh.channel.open', payload: { channel: 0, kind: 'shell', command: null, pty: { term: 'xterm', cols: 120, rows: 40 } } },
    { type: 'ssh.data', payload: { channel: 0, stream: 'stdout', t: 10, text: '\u001b[32m$\u001b[0m ', bytes: 12 } },
    { type: 'ssh.data', payload: { channel: 0, stream: 'stdin', t: 900, text: 'echo [AWS_ACCESS_KEY_ID]\r', bytes: 26 } },
    { type: 'ssh.resize', payload: { channel: 0, t: 1500, cols: 100, rows: 30 } },
    { type: 'ssh.exit', payload: { channel: 0, t: 2000, code: 0 } },
  ];
}

/** A terminal session's transcript (the SSH module's event types are not registered on this branch yet). */
function terminalTranscript(): SessionTranscript {
  const events: AuditEvent[] = [{ type: 'session.start', payload: { protocol: 'ssh', client: {} } }, ...terminalEvents()].map((e, seq) => ({
    seq,
    type: e.type,
    code: 'GH0000I',
    time: new Date(Date.UTC(2026, 0, 15, 10, 0, 0, seq)).toISOString(),
    session: 'ssh-1',
    payload: e.payload,
    prev: '',
    hash: '',
  }));
  return { session: { id: 'ssh-1', protocol: 'ssh', eventCount: events.length, chain: { intact: true } }, events };
}

/** The stand-in for the SSH module's extractor: one recording per opened channel. */
function terminalsOf(events: readonly AuditEvent[]): ChannelRecording[] {
  const open = events.find((e) => e.type === 'ssh.channel.open');
  if (!open) return [];
  const pty = open.payload.pty as { cols: number; rows: number };
  return [
    {
      channel: 0,
      label: 'shell',
      recording: {
        cols: pty.cols,
        rows: pty.rows,
        startedAt: open.time,
        frames: events
          .filter((e) => e.type === 'ssh.data')
          .map((e) => ({ kind: 'data' as const, t: (e.payload.t as number) / 1000, stream: e.payload.stream === 'stdin' ? ('input' as const) : ('output' as const), data: e.payload.text as string })),
      },
    },
  ];
}

describe('session page service: verify, render and export one recorded session', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let sink: FsLogSink;
  let witness: FileWitness;

  beforeAll(async () => {
    ({ dir, cleanup } = await makeTempDir('gh-sps-'));
    sink = new FsLogSink(join(dir, 'log'));
    witness = new FileWitness(join(dir, 'witness.json'));
    const rec = new GatehouseRecorder(recorderOptions(sink, { witness }));
    const s = await rec.openSession({ sessionId: 'h-1', protocol: 'http', principal: PRINCIPAL, connection: 'api', client: { address: '127.0.0.1' } });
    await s.append('http.request', synthetic({ method: 'GET', path: '/v1/things', query: '', headers: {}, body: { size: 0 } }), { durable: true, requestId: 'r-1' });
    await s.end({ reason: 'closed' });
    await rec.close();
  });
  afterAll(() => cleanup());

  it('verifies a recorded session with the gateway key and the witness, and renders the green badge', async () => {
    const service = createSessionPageService({ sink, witness, trustedKeys: [TEST_KEY.publicKeyPem], terminalsOf });
    const v = await service.verify('h-1');
    expect(v).toMatchObject({ status: 'verified', ok: true, witnessed: true });
    const page = service.render(await exportSession(sink, 'h-1'), { name: 'auditor', subject: 'a' }, v).value;
    expect(page).toContain('<strong>verified</strong> against the signed digests and the witness');
    expect(page).toContain('<code class="gh-path">/v1/things</code>');
    expect(page).not.toContain('gh-player');
  });

  it('renders a terminal session: the player at the recorded size and the terminal events as text', () => {
    const service = createSessionPageService({ sink, terminalsOf });
    const page = service.render(terminalTranscript(), { name: 'auditor', subject: 'a' }, undefined).value;
    // The player loads asciicast v3; v2 and the transcript are links beside it.
    expect(page).toContain(`<div class="gh-player" data-cast="${sessionUrls('ssh-1').cast(0, 3).replace('&', '&amp;')}" data-cols="120" data-rows="40">`);
    expect(page).toContain(`<a href="${sessionUrls('ssh-1').cast(0)}" download>.cast v2</a>`);
    expect(page).toContain(`<a href="${sessionUrls('ssh-1').text(0)}&amp;view=1">Transcript</a>`);
    expect(page).toContain('<span class="gh-tag">stdin</span>');
    expect(page).toContain('echo <mark class="gh-masked" title="masked by the gateway">[AWS_ACCESS_KEY_ID]</mark>');
    expect(page).toContain('resized to 100×30');
    expect(page).toContain('exited with status <code>0</code>');
    // ANSI colour codes are stripped from the text view (the player draws them).
    expect(page).not.toContain('\u001b[32m');
  });

  it('fails the badge when the digests are signed by a key the console does not trust', async () => {
    const other = generateDevSigningKey();
    const v = await createSessionPageService({ sink, witness, trustedKeys: [other.publicKeyPem] }).verify('h-1');
    expect(v).toMatchObject({ status: 'broken', firstBroken: { code: 'DIGEST_KEY_UNTRUSTED' } });
  });

  it('answers an unknown session with a red badge that names it', async () => {
    const v = await createSessionPageService({ sink, witness }).verify('nope');
    expect(v).toMatchObject({ status: 'broken', firstBroken: { code: 'SESSION_NOT_FOUND' } });
  });

  it('exports the .cast of a channel at its size, and nothing for a channel it does not have', async () => {
    const service = createSessionPageService({ sink, terminalsOf });
    const t = terminalTranscript();
    const cast = service.cast(t, 0)!;
    expect(JSON.parse(cast.body.split('\n')[0]!)).toMatchObject({ version: 2, width: 120, height: 40 });
    expect(cast.body).toBe(toAsciicast(terminalsOf(t.events)[0]!.recording));
    expect(service.cast(t, 7)).toBeUndefined();
    expect(JSON.parse(service.cast(t, 0, 3)!.body.split('\n')[0]!)).toMatchObject({ version: 3, term: { cols: 120, rows: 40 } });
    const text = (await service.text(t, 0))!;
    expect(text).toMatchObject({ filename: 'session-ssh-1-channel-0.txt', contentType: 'text/plain; charset=utf-8' });
    expect(text.body).not.toContain('\u001b');
    expect(await service.text(t, 7)).toBeUndefined();
    expect(service.json(t).body).toBe(JSON.stringify(t, null, 2));
  });
});
