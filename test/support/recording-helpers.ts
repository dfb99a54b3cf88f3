import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatehouseError } from '../../gateway/src/errors';
import { GatehouseRecorder, type RecorderOptions } from '../../gateway/src/recording/recorder';
import { Ed25519Signer, generateDevSigningKey } from '../../gateway/src/recording/signer';
import type { LogSink } from '../../gateway/src/recording/sinks/sink';
import { FsLogSink } from '../../gateway/src/recording/sinks/fs/fs-sink';

export async function makeTempDir(prefix = 'gh-rec-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A clock that advances 1 ms per reading (or jumps on demand), so times are distinct and ordered. */
export function steppingClock(start = Date.UTC(2026, 0, 15, 10, 0, 0)): { clock: () => Date; advance: (ms: number) => void } {
  let t = start;
  return {
    clock: () => new Date(t++),
    advance: (ms: number) => {
      t += ms;
    },
  };
}

/** Wraps a sink: counts calls and can be told to fail writes (simulates ENOSPC and friends). */
export class InstrumentedSink implements LogSink {
  readonly name: string;
  puts = 0;
  appends = 0;
  failWith?: string;
  append?: (key: string, bytes: Uint8Array) => Promise<void>;
  sealAppend?: (key: string) => Promise<void>;

  constructor(
    readonly inner: LogSink,
    options: { withoutAppend?: boolean } = {},
  ) {
    this.name = `instrumented-${inner.name}`;
    if (inner.append && !options.withoutAppend) {
      this.append = async (key, bytes) => {
        this.appends++;
        this.maybeFail('append', key);
        await inner.append!(key, bytes);
      };
      this.sealAppend = (key) => inner.sealAppend?.(key) ?? Promise.resolve();
    }
  }

  private maybeFail(op: string, key: string): void {
    if (this.failWith) {
      throw new GatehouseError('GH_ERR_RECORDING_FAILED', `simulated ${this.failWith} on ${op} ${key}`, {
        details: { sink: this.name, op, key, reason: 'no-space', errno: this.failWith },
      });
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.puts++;
    this.maybeFail('put', key);
    await this.inner.put(key, bytes);
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.inner.get(key);
  }

  list(prefix: string): Promise<string[]> {
    return this.inner.list(prefix);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}

export const TEST_KEY = generateDevSigningKey();

export function recorderOptions(sink: LogSink, overrides: Partial<RecorderOptions> = {}): RecorderOptions {
  return {
    sink,
    mode: 'strict',
    instanceId: 'gw-test-1',
    clock: steppingClock().clock,
    signer: new Ed25519Signer(TEST_KEY.privateKeyPem),
    flushIntervalMs: 10,
    maxBufferBytes: 1024 * 1024,
    segmentMaxBytes: 1024 * 1024,
    segmentMaxAgeSeconds: 3600,
    digestIntervalSeconds: 3600,
    retryMinMs: 5,
    retryMaxMs: 20,
    ...overrides,
  };
}

export function newFsRecorder(dir: string, overrides: Partial<RecorderOptions> = {}): { recorder: GatehouseRecorder; sink: FsLogSink } {
  const sink = new FsLogSink(dir);
  return { recorder: new GatehouseRecorder(recorderOptions(sink, overrides)), sink };
}

export const PRINCIPAL = { issuer: 'https://idp.example', subject: 'u-1', name: 'ada@example.com', groups: ['dev'], kind: 'human' as const };

/** A sink wrapper whose writes wait at a gate the test opens, to observe what happens meanwhile. */
export class GatedSink extends InstrumentedSink {
  private gate?: Promise<void>;
  private openGate?: () => void;
  /** Writes that reached the gate and wait. */
  waiting = 0;

  /** Writes from now on wait until `release()`. */
  hold(): void {
    this.gate = new Promise((r) => (this.openGate = r));
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  constructor(inner: LogSink, options: { withoutAppend?: boolean } = {}) {
    super(inner, options);
    const rawAppend = this.append;
    if (rawAppend) {
      this.append = async (key, bytes) => {
        await this.wait();
        await rawAppend(key, bytes);
      };
    }
  }

  private async wait(): Promise<void> {
    if (!this.gate) return;
    this.waiting++;
    await this.gate;
    this.waiting--;
  }

  override async put(key: string, bytes: Uint8Array): Promise<void> {
    await this.wait();
    await super.put(key, bytes);
  }
}

/**
 * Yields to the event loop (I/O callbacks included) until `cond` holds. A generous real-time cap
 * (process.hrtime, which fake timers leave alone) only turns a hang into a clear failure.
 */
export async function until(cond: () => boolean, capSeconds = 20): Promise<void> {
  const deadline = process.hrtime.bigint() + BigInt(capSeconds) * 1_000_000_000n;
  while (!cond()) {
    if (process.hrtime.bigint() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * A synthetic payload for recorder-level tests, typed as whatever the registered event expects:
 * the recorder stores payloads without reading them, so these tests need not build real ones.
 */
export function synthetic<P>(payload: Record<string, unknown>): P {
  return payload as P;
}
