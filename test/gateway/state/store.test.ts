import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SESSION_MIGRATIONS } from '../../../gateway/src/state/session-schema';
import { createSessionIndex } from '../../../gateway/src/state/sql-session-index';
import { createStateStore, isMemoryPath } from '../../../gateway/src/state/store';

describe('state store', () => {
  it('keeps the embedded database in a directory across restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-state-'));
    try {
      const first = createSessionIndex({ embeddedPath: join(dir, 'state') });
      await first.init();
      await first.sessionStarted({ id: 's-1', protocol: 'http', connection: 'c', subject: 'u', userName: null, issuer: null, groups: [], clientAddress: null, startedAt: new Date('2026-01-01T00:00:00Z'), status: 'open' });
      first.requestSeen('s-1', 'req-1', undefined, new Date('2026-01-01T00:00:01Z'));
      await first.close();

      const second = createSessionIndex({ embeddedPath: join(dir, 'state') });
      await second.init();
      expect((await second.get('s-1'))?.subject).toBe('u');
      expect((await second.list({ requestId: 'req-1' })).map((s) => s.id)).toEqual(['s-1']);
      const versions = await second.store.query("select version from gatehouse_schema_migrations where component = 'sessions'");
      expect(versions.rows).toHaveLength(SESSION_MIGRATIONS.length);
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60000);

  it('treats "memory" and "memory://" as in-memory', () => {
    expect(isMemoryPath('memory')).toBe(true);
    expect(isMemoryPath('memory://')).toBe(true);
    expect(isMemoryPath('./.gatehouse/state')).toBe(false);
  });

  it('rejects every call once closed', async () => {
    const store = createStateStore({ embeddedPath: 'memory://' });
    await store.close();
    await expect(store.query('select 1')).rejects.toMatchObject({ code: 'GH_ERR_STATE_UNAVAILABLE' });
    await expect(store.open()).rejects.toMatchObject({ code: 'GH_ERR_STATE_UNAVAILABLE' });
  });

  it('names the driver in kind', () => {
    expect(createStateStore({ embeddedPath: 'memory://' }).kind).toBe('embedded');
    expect(createStateStore({ url: 'postgres://u@127.0.0.1:1/db', embeddedPath: 'x' }).kind).toBe('postgres');
  });
});
