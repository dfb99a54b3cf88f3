import pg from 'pg';
import { existsSync } from 'node:fs';
import { startPostgres } from '../../support/postgres';

describe('startPostgres', () => {
  it('starts a reachable server with the database, and stop() removes it', async () => {
    const server = await startPostgres();
    try {
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      const r = await client.query('select current_database() as db, current_setting($1) as fsync', ['fsync']);
      await client.end();
      expect(r.rows[0]).toEqual({ db: 'gatehouse_test', fsync: 'off' });
      const other = await server.createDatabase('second_db');
      const c2 = new pg.Client({ connectionString: other });
      await c2.connect();
      await c2.end();
      expect(existsSync(server.socketDir)).toBe(true);
    } finally {
      await server.stop();
    }
    expect(existsSync(server.socketDir)).toBe(false);
    await server.stop();
  });
});
