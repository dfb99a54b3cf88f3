import { createHash } from 'node:crypto';
import { GatehouseError } from '../errors';
import type { StateStore } from './store';

/**
 * Versioned schema migrations, one list per component (`sessions`, `approvals`, ...).
 * Applied in one transaction under a transaction-scoped advisory lock, so two replicas starting
 * at once serialize: the second waits, then finds every version already applied.
 */
export interface Migration {
  /** Strictly increasing within a component, starting at 1. */
  readonly version: number;
  readonly name: string;
  /** Statements run in order, each without parameters (one statement per string). */
  readonly statements: readonly string[];
}

/** One key for every component: the bookkeeping table itself is shared. */
const MIGRATION_LOCK_KEY = 0x6761_7465; // "gate"

const BOOKKEEPING = `create table if not exists gatehouse_schema_migrations (
  component text not null,
  version integer not null,
  name text not null,
  checksum text not null,
  applied_at timestamptz not null default now(),
  primary key (component, version)
)`;

/** Applies the migrations of `component` that are not applied yet; returns the versions applied. */
export async function runMigrations(store: StateStore, component: string, migrations: readonly Migration[]): Promise<number[]> {
  checkOrder(component, migrations);
  return store.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.query(BOOKKEEPING);
    const done = await tx.query<{ version: number; checksum: string }>(
      'select version, checksum from gatehouse_schema_migrations where component = $1',
      [component],
    );
    const applied = new Map(done.rows.map((r) => [Number(r.version), r.checksum]));
    const newest = Math.max(0, ...applied.keys());
    const known = Math.max(0, ...migrations.map((m) => m.version));
    if (newest > known) {
      // Refuse to run against a schema a newer gateway wrote: its meaning may have changed.
      throw new GatehouseError('GH_ERR_STATE_UNAVAILABLE', `the ${component} schema is at version ${newest}, newer than this gateway knows (${known}); upgrade the gateway`);
    }
    const ran: number[] = [];
    for (const m of migrations) {
      const checksum = sha256(m.statements.join(';\n'));
      const previous = applied.get(m.version);
      if (previous !== undefined) {
        if (previous !== checksum) {
          throw new GatehouseError('GH_ERR_STATE_UNAVAILABLE', `${component} migration ${m.version} (${m.name}) differs from the one applied to this database`);
        }
        continue;
      }
      for (const statement of m.statements) await tx.query(statement);
      await tx.query('insert into gatehouse_schema_migrations (component, version, name, checksum) values ($1, $2, $3, $4)', [component, m.version, m.name, checksum]);
      ran.push(m.version);
    }
    return ran;
  });
}

function checkOrder(component: string, migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new GatehouseError('GH_ERR_CONFIG_INVALID', `${component} migrations must be numbered 1, 2, 3, ... in order (found ${m.version} at position ${i + 1})`);
  });
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
