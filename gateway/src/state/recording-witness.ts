import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { RecordingWitness, WitnessHead } from '../recording/witness';
import type { WitnessedHead } from '../recording/verify';
import { runMigrations, type Migration } from './migrations';
import type { StateQueryable, StateStore } from './store';

/**
 * The recording witness in the state database (every replica sees it), plus the per-instance
 * lease that lets a live replica find a dead one's tail (server/recording-sweeper.ts):
 *  - `gatehouse_recording_instances`: one row per instance: its newest digest (seq, key, SHA-256,
 *    final), the heartbeat of its lease, and who recovered it after it died;
 *  - `gatehouse_recording_segments`: segment keys an instance started and no digest of it
 *    attested yet (pruned at each digest);
 *  - `gatehouse_local_identity`: the persistent instance id of an embedded (single-process)
 *    state store, so a restarted gateway finds its own crash tail.
 * Written at digest time, at segment start and at each heartbeat; never per event.
 */
export const RECORDING_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'witness, segment registry, leases, local identity',
    statements: [
      `create table if not exists gatehouse_recording_instances (
        instance_id text primary key,
        digest_seq integer not null default -1,
        digest_key text,
        digest_sha256 text,
        final boolean not null default false,
        window_end text,
        run_id text,
        heartbeat_at timestamptz not null default now(),
        recovered_by text,
        recovered_at timestamptz
      )`,
      `create table if not exists gatehouse_recording_segments (
        instance_id text not null,
        key text not null,
        started_at timestamptz not null default now(),
        primary key (instance_id, key)
      )`,
      `create table if not exists gatehouse_local_identity (
        name text primary key,
        value text not null
      )`,
    ],
  },
];

interface InstanceRow {
  instance_id: string;
  digest_seq: number;
  digest_key: string | null;
  digest_sha256: string | null;
  final: boolean;
  window_end: string | null;
}

export class StateRecordingWitness implements RecordingWitness {
  readonly name = 'state';
  private ready?: Promise<void>;

  /** `readOnly`: never migrates (verify reads a witness; a missing table is an error, not a new one). */
  constructor(
    private readonly store: StateStore,
    private readonly options: { readonly readOnly?: boolean } = {},
  ) {}

  init(): Promise<void> {
    this.ready ??= runMigrations(this.store, 'recording', RECORDING_MIGRATIONS).then(
      () => undefined,
      (e: unknown) => {
        this.ready = undefined;
        throw e;
      },
    );
    return this.ready;
  }

  private async q(): Promise<StateQueryable> {
    if (!this.options.readOnly) await this.init();
    return this.store;
  }

  async register(instanceId: string): Promise<void> {
    // A restart of the same instance takes its lease back (recovered_by cleared: it recovers its
    // own tail from here on).
    await (await this.q()).query(
      `insert into gatehouse_recording_instances (instance_id) values ($1)
       on conflict (instance_id) do update set heartbeat_at = now(), recovered_by = null, recovered_at = null`,
      [instanceId],
    );
  }

  async head(instanceId: string): Promise<WitnessHead | undefined> {
    const { rows } = await (await this.q()).query<InstanceRow>('select * from gatehouse_recording_instances where instance_id = $1', [instanceId]);
    const r = rows[0];
    if (!r || r.digest_seq < 0 || !r.digest_key || !r.digest_sha256 || !r.window_end) return undefined;
    return { digestSeq: Number(r.digest_seq), digestKey: r.digest_key, sha256: r.digest_sha256, final: r.final, windowEnd: r.window_end };
  }

  async digestWritten(instanceId: string, head: WitnessHead, attested: readonly string[]): Promise<void> {
    await this.store.transaction(async (tx) => {
      await tx.query(
        `insert into gatehouse_recording_instances (instance_id, digest_seq, digest_key, digest_sha256, final, window_end) values ($1, $2, $3, $4, $5, $6)
         on conflict (instance_id) do update set digest_seq = excluded.digest_seq, digest_key = excluded.digest_key, digest_sha256 = excluded.digest_sha256,
           final = excluded.final, window_end = excluded.window_end
         where gatehouse_recording_instances.digest_seq < excluded.digest_seq`,
        [instanceId, head.digestSeq, head.digestKey, head.sha256, head.final, head.windowEnd],
      );
      if (attested.length > 0) await tx.query('delete from gatehouse_recording_segments where instance_id = $1 and key = any($2::text[])', [instanceId, [...attested]]);
    });
  }

  async segmentStarted(instanceId: string, key: string): Promise<void> {
    await (await this.q()).query('insert into gatehouse_recording_segments (instance_id, key) values ($1, $2) on conflict do nothing', [instanceId, key]);
  }

  async startedSegments(instanceId: string): Promise<Set<string>> {
    const { rows } = await (await this.q()).query<{ key: string }>('select key from gatehouse_recording_segments where instance_id = $1', [instanceId]);
    return new Set(rows.map((r) => r.key));
  }

  async heads(): Promise<Map<string, WitnessedHead>> {
    const { rows } = await (await this.q()).query<InstanceRow>('select * from gatehouse_recording_instances');
    return new Map(
      rows.map((r) => [r.instance_id, { digestSeq: Number(r.digest_seq), digestKey: r.digest_key ?? undefined, sha256: r.digest_sha256 ?? undefined, final: r.final }]),
    );
  }

  /** Renews this instance's lease. */
  async heartbeat(instanceId: string, runId: string): Promise<void> {
    await (await this.q()).query('update gatehouse_recording_instances set heartbeat_at = now(), run_id = $2 where instance_id = $1', [instanceId, runId]);
  }

  /**
   * Claims one instance whose lease expired (no heartbeat for `ttlSeconds`), whose log is not
   * sealed and that nobody recovers: at most one replica wins it (row lock, skip locked).
   */
  async claimExpired(ttlSeconds: number, by: string): Promise<string | undefined> {
    const { rows } = await (await this.q()).query<{ instance_id: string }>(
      `update gatehouse_recording_instances set recovered_by = $2, recovered_at = now()
       where instance_id = (
         select instance_id from gatehouse_recording_instances
         where final = false and recovered_by is null and instance_id <> $3 and heartbeat_at < now() - ($1::double precision * interval '1 second')
         order by heartbeat_at limit 1 for update skip locked)
       returning instance_id`,
      [ttlSeconds, by, by.split('/')[0]],
    );
    return rows[0]?.instance_id;
  }

  /** Gives a claim back (recovery failed): another sweep retries. */
  async releaseClaim(instanceId: string): Promise<void> {
    await (await this.q()).query('update gatehouse_recording_instances set recovered_by = null, recovered_at = null where instance_id = $1', [instanceId]);
  }

  /**
   * The persistent id of the gateway that owns this (embedded) state store: created once as
   * `<host>-<random>` and kept, so a restart is the same instance and recovers its own tail.
   */
  async localInstanceId(): Promise<string> {
    const q = await this.q();
    const candidate = `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 40)}-${randomBytes(6).toString('hex')}`;
    await q.query('insert into gatehouse_local_identity (name, value) values ($1, $2) on conflict (name) do nothing', ['instanceId', candidate]);
    const { rows } = await q.query<{ value: string }>('select value from gatehouse_local_identity where name = $1', ['instanceId']);
    return rows[0]!.value;
  }
}
