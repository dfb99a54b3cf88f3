import { open, readFile, rename, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { WitnessedHead } from './verify';

/**
 * A witness keeps, outside the log store, what an attacker who can write the log store must not
 * be able to rewrite unnoticed:
 *  - each instance's newest digest (seq, key, SHA-256 of its stored bytes, whether it sealed the
 *    log), written at digest time, never per event: `verify --witness` detects rollback
 *    (newest digests and segments removed), truncation and replacement;
 *  - the segment keys an instance started since its last digest (registered before the first
 *    byte is written; pruned at each digest), so crash recovery adopts only segments this
 *    instance wrote and never signs a segment planted in its directory.
 * Implementations: the state database (state/recording-witness.ts: every replica sees it) and a
 * JSON file (`FileWitness`, a second store on another disk or mount).
 */
export interface WitnessHead extends WitnessedHead {
  readonly digestKey: string;
  readonly sha256: string;
  readonly windowEnd: string;
}

export interface RecordingWitness {
  readonly name: string;
  /** Makes the instance known (seq -1) so that verify can tell it from a fabricated one. */
  register(instanceId: string): Promise<void>;
  /** The newest witnessed digest of an instance; undefined when it has none. */
  head(instanceId: string): Promise<WitnessHead | undefined>;
  /**
   * After a digest is durably stored: the new head, and the segment keys it attested (no longer
   * needed in the registry). Never moves a head backwards.
   */
  digestWritten(instanceId: string, head: WitnessHead, attested: readonly string[]): Promise<void>;
  /** Before the first byte is written to a segment key of this instance. */
  segmentStarted(instanceId: string, key: string): Promise<void>;
  /** Segment keys started by this instance and not yet attested by one of its digests. */
  startedSegments(instanceId: string): Promise<Set<string>>;
  /** Every instance's head (seq -1 for registered instances without a digest). */
  heads(): Promise<Map<string, WitnessedHead>>;
  close?(): Promise<void>;
}

interface FileState {
  version: 1;
  instances: Record<string, { digestSeq: number; digestKey?: string; sha256?: string; final: boolean; windowEnd?: string; segments: string[] }>;
}

/**
 * The witness as one JSON file, rewritten atomically (temporary file, fsync, rename). Meant for
 * one gateway process per file (a second store beside the state database, e.g. on another
 * volume); replicas need the state database witness.
 */
export class FileWitness implements RecordingWitness {
  readonly name = 'file';
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {}

  register(instanceId: string): Promise<void> {
    return this.update((s) => {
      s.instances[instanceId] ??= { digestSeq: -1, final: false, segments: [] };
    });
  }

  async head(instanceId: string): Promise<WitnessHead | undefined> {
    const i = (await this.read()).instances[instanceId];
    if (!i || i.digestSeq < 0 || !i.digestKey || !i.sha256 || !i.windowEnd) return undefined;
    return { digestSeq: i.digestSeq, digestKey: i.digestKey, sha256: i.sha256, final: i.final, windowEnd: i.windowEnd };
  }

  digestWritten(instanceId: string, head: WitnessHead, attested: readonly string[]): Promise<void> {
    return this.update((s) => {
      const i = (s.instances[instanceId] ??= { digestSeq: -1, final: false, segments: [] });
      if (head.digestSeq > i.digestSeq) Object.assign(i, { digestSeq: head.digestSeq, digestKey: head.digestKey, sha256: head.sha256, final: head.final, windowEnd: head.windowEnd });
      const done = new Set(attested);
      i.segments = i.segments.filter((k) => !done.has(k));
    });
  }

  segmentStarted(instanceId: string, key: string): Promise<void> {
    return this.update((s) => {
      const i = (s.instances[instanceId] ??= { digestSeq: -1, final: false, segments: [] });
      if (!i.segments.includes(key)) i.segments.push(key);
    });
  }

  async startedSegments(instanceId: string): Promise<Set<string>> {
    return new Set((await this.read()).instances[instanceId]?.segments ?? []);
  }

  async heads(): Promise<Map<string, WitnessedHead>> {
    const out = new Map<string, WitnessedHead>();
    for (const [id, i] of Object.entries((await this.read()).instances)) {
      out.set(id, { digestSeq: i.digestSeq, digestKey: i.digestKey, sha256: i.sha256, final: i.final });
    }
    return out;
  }

  private async read(): Promise<FileState> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, instances: {} };
      throw e;
    }
    const s = JSON.parse(text) as FileState;
    if (s?.version !== 1 || typeof s.instances !== 'object' || s.instances === null) throw new Error(`${this.path} is not a gatehouse witness file`);
    return s;
  }

  /** Read-modify-write, one at a time within this process; durable before it resolves. */
  private update(fn: (s: FileState) => void): Promise<void> {
    const run = this.chain.then(async () => {
      const s = await this.read();
      fn(s);
      await mkdir(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.${process.pid}.tmp`;
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(JSON.stringify(s));
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
      const dir = await open(dirname(this.path), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/**
 * Several witnesses as one: writes go to all (any failure fails the write, so the caller logs it),
 * reads take the newest head and the union of registered segments.
 */
export class MultiWitness implements RecordingWitness {
  readonly name: string;

  constructor(private readonly witnesses: readonly RecordingWitness[]) {
    this.name = witnesses.map((w) => w.name).join('+');
  }

  async register(instanceId: string): Promise<void> {
    await Promise.all(this.witnesses.map((w) => w.register(instanceId)));
  }

  async head(instanceId: string): Promise<WitnessHead | undefined> {
    let best: WitnessHead | undefined;
    for (const h of await Promise.all(this.witnesses.map((w) => w.head(instanceId)))) if (h && (!best || h.digestSeq > best.digestSeq)) best = h;
    return best;
  }

  async digestWritten(instanceId: string, head: WitnessHead, attested: readonly string[]): Promise<void> {
    await Promise.all(this.witnesses.map((w) => w.digestWritten(instanceId, head, attested)));
  }

  async segmentStarted(instanceId: string, key: string): Promise<void> {
    await Promise.all(this.witnesses.map((w) => w.segmentStarted(instanceId, key)));
  }

  async startedSegments(instanceId: string): Promise<Set<string>> {
    const out = new Set<string>();
    for (const s of await Promise.all(this.witnesses.map((w) => w.startedSegments(instanceId)))) for (const k of s) out.add(k);
    return out;
  }

  async heads(): Promise<Map<string, WitnessedHead>> {
    const out = new Map<string, WitnessedHead>();
    for (const m of await Promise.all(this.witnesses.map((w) => w.heads()))) {
      for (const [id, h] of m) {
        const cur = out.get(id);
        if (!cur || h.digestSeq > cur.digestSeq) out.set(id, h);
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.witnesses.map((w) => w.close?.()));
  }
}
