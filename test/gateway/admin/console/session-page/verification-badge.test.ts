import { join } from 'node:path';
import { verifySessionForConsole } from '../../../../../gateway/src/admin/console/session-page';
import { GatehouseRecorder } from '../../../../../gateway/src/recording/recorder';
import { FsLogSink } from '../../../../../gateway/src/recording/sinks/fs/fs-sink';
import { FileWitness } from '../../../../../gateway/src/recording/witness';
import { makeTempDir, PRINCIPAL, recorderOptions, synthetic, TEST_KEY } from '../../../../support/recording-helpers';

/**
 * The badge on a live gateway: the log always has an undigested tail (the newest segment, where
 * even the console's own reads are recorded) and no sealing digest yet. A session whose events all
 * sit in digested segments is verified all the same; one with events in the tail is not yet attested.
 */
describe('verification badge on a live log', () => {
  let cleanup: () => Promise<void>;
  let rec: GatehouseRecorder;
  let sink: FsLogSink;
  let witness: FileWitness;

  beforeAll(async () => {
    let dir: string;
    ({ dir, cleanup } = await makeTempDir('gh-badge-'));
    sink = new FsLogSink(join(dir, 'log'));
    witness = new FileWitness(join(dir, 'witness.json'));
    rec = new GatehouseRecorder(recorderOptions(sink, { witness }));
    const early = await rec.openSession({ sessionId: 'early', protocol: 'http', principal: PRINCIPAL, connection: 'api', client: {} });
    await early.append('http.request', synthetic({ method: 'GET', path: '/a', query: '', headers: {}, body: { size: 0 } }), { durable: true, requestId: 'r-1' });
    await early.end({ reason: 'closed' });
    await rec.digestNow();
    const late = await rec.openSession({ sessionId: 'late', protocol: 'http', principal: PRINCIPAL, connection: 'api', client: {} });
    await late.append('http.request', synthetic({ method: 'GET', path: '/b', query: '', headers: {}, body: { size: 0 } }), { durable: true, requestId: 'r-2' });
    await rec.flush();
  });
  afterAll(async () => {
    await rec.close();
    await cleanup();
  });

  it('verified: every event of the session is in a segment a signed digest lists, whatever the tail holds', async () => {
    const v = await verifySessionForConsole(sink, 'early', { trustedKeys: [TEST_KEY.publicKeyPem], witness: await witness.heads() });
    expect(v.status).toBe('verified');
    // The live log's findings stay visible.
    expect(v.warnings.some((w) => w.startsWith('UNDIGESTED_TAIL'))).toBe(true);
    expect(v.warnings.some((w) => w.startsWith('LOG_NOT_SEALED'))).toBe(true);
  });

  it('not yet attested: the session has events in the undigested tail', async () => {
    const v = await verifySessionForConsole(sink, 'late', { trustedKeys: [TEST_KEY.publicKeyPem], witness: await witness.heads() });
    expect(v).toMatchObject({ status: 'unattested', ok: true });
  });
});
