import { createGatewayMetrics } from '../../../gateway/src/admin/metrics';
import type { PipelineObserver } from '../../../gateway/src/pipeline/pipeline';
import { GatehouseRecorder } from '../../../gateway/src/recording/recorder';
import { FsLogSink } from '../../../gateway/src/recording/sinks/fs/fs-sink';
import { InstrumentedSink, makeTempDir, recorderOptions, synthetic } from '../../support/recording-helpers';

async function sample(text: Promise<string>, line: RegExp): Promise<number | undefined> {
  for (const l of (await text).split('\n')) {
    const m = line.exec(l);
    if (m !== null) return Number(l.slice(l.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('gateway metrics', () => {
  it('counts the events a buffered recorder acknowledged but could never store', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const sink = new InstrumentedSink(new FsLogSink(dir));
      const rec = new GatehouseRecorder(recorderOptions(sink, { mode: 'buffered', flushIntervalMs: 60_000 }));
      const m = createGatewayMetrics({ processMetrics: false });
      m.watchRecorder(() => rec.stats());
      const s = await rec.openSession({ sessionId: 's', protocol: 'http', client: {} });
      await s.append('http.request', synthetic({ path: '/' }));
      sink.failWith = 'ENOSPC';
      await expect(rec.close()).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED' });
      // session.start, the request and the session.end of the shutdown: acknowledged, never stored.
      expect(rec.stats().eventsLost).toBe(3);
      expect(await sample(m.registry.metrics(), /^gatehouse_recording_events_lost_total/)).toBe(3);
      expect(await sample(m.registry.metrics(), /^gatehouse_recording_witness_failures_total/)).toBe(0);
    } finally {
      await cleanup();
    }
  });

  it('counts requests by protocol, connection and status', async () => {
    const m = createGatewayMetrics({ processMetrics: false });
    m.requestCompleted('http', 'anthropic', 200);
    m.requestCompleted('http', 'anthropic', 200);
    m.requestCompleted('http', 'anthropic', 403);
    expect(await sample(m.registry.metrics(), /^gatehouse_requests_total\{protocol="http",connection="anthropic",status="200"\}/)).toBe(2);
    expect(await sample(m.registry.metrics(), /^gatehouse_requests_total\{protocol="http",connection="anthropic",status="403"\}/)).toBe(1);
  });

  it('counts decisions by effect and auth failures by code', async () => {
    const m = createGatewayMetrics({ processMetrics: false });
    m.decision('deny', 'github');
    m.decision('allow', 'github');
    m.decision('deny', 'github');
    m.authFailure('GH_ERR_TOKEN_EXPIRED', 'http');
    expect(await sample(m.registry.metrics(), /^gatehouse_decisions_total\{effect="deny",connection="github"\}/)).toBe(2);
    expect(await sample(m.registry.metrics(), /^gatehouse_auth_failures_total\{code="GH_ERR_TOKEN_EXPIRED",protocol="http"\}/)).toBe(1);
  });

  it('observes recording latency in seconds and counts failures', async () => {
    const m = createGatewayMetrics({ processMetrics: false });
    m.recorded(3, true);
    m.recorded(200, false);
    m.recordingFailure('GH_ERR_RECORDING_OVERLOADED');
    const text = m.registry.metrics();
    expect(await sample(text, /^gatehouse_recording_latency_seconds_bucket\{le="0.005"\}/)).toBe(1);
    expect(await sample(text, /^gatehouse_recording_latency_seconds_bucket\{le="0.25"\}/)).toBe(2);
    expect(await sample(text, /^gatehouse_recording_latency_seconds_sum/)).toBeCloseTo(0.203, 6);
    expect(await sample(text, /^gatehouse_recording_failures_total\{code="GH_ERR_RECORDING_FAILED"\}/)).toBe(1);
    expect(await sample(text, /^gatehouse_recording_failures_total\{code="GH_ERR_RECORDING_OVERLOADED"\}/)).toBe(1);
  });

  it('tracks open sessions per protocol and upstream latency per connection', async () => {
    const m = createGatewayMetrics({ processMetrics: false });
    m.sessionOpened('http');
    m.sessionOpened('http');
    m.sessionOpened('postgres');
    m.sessionClosed('http');
    m.upstreamLatency('anthropic', 1500);
    const text = m.registry.metrics();
    expect(await sample(text, /^gatehouse_open_sessions\{protocol="http"\}/)).toBe(1);
    expect(await sample(text, /^gatehouse_open_sessions\{protocol="postgres"\}/)).toBe(1);
    expect(await sample(text, /^gatehouse_upstream_latency_seconds_bucket\{le="1",connection="anthropic"\}/)).toBe(0);
    expect(await sample(text, /^gatehouse_upstream_latency_seconds_bucket\{le="2.5",connection="anthropic"\}/)).toBe(1);
  });

  it('serves as the pipeline observer as it is', () => {
    const observer: PipelineObserver = createGatewayMetrics({ processMetrics: false });
    expect(() => observer.decision('review', 'x')).not.toThrow();
  });

  it('keeps registries separate and adds process metrics and default labels on request', async () => {
    const a = createGatewayMetrics({ defaultLabels: { instance: 'gw-1' } });
    const b = createGatewayMetrics({ processMetrics: false });
    a.requestCompleted('http', 'c', 200);
    const textA = await a.registry.metrics();
    expect(textA).toContain('gatehouse_process_cpu_user_seconds_total');
    expect(textA).toContain('gatehouse_requests_total{protocol="http",connection="c",status="200",instance="gw-1"} 1');
    expect(await b.registry.metrics()).not.toContain('status="200"');
  });
});
