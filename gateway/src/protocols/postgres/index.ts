/**
 * The PostgreSQL protocol: a listener speaking protocol v3 that logs agents in with their OIDC
 * token (as the password, over TLS), logs in upstream with the brokered credential, judges every
 * statement with PostgreSQL's own parser and policy, and records statements and results.
 *
 * Configuration (config/schema.ts; docs/postgres.md has the guide):
 *
 *   listeners:
 *     postgres: { address: 0.0.0.0, port: 5432, tls: { cert: file:/tls/cert.pem, key: file:/tls/key.pem } }
 *     # allowPlaintext: true   # loopback development only: the token would travel in the clear
 *   connections:
 *     - name: app                        # clients connect to database "app" ...
 *       kind: postgres
 *       databases: [app, app_ro]         # ... or any of these names (default: [name])
 *       upstream:
 *         host: db.internal
 *         port: 5432
 *         database: app
 *         user: gatehouse_app
 *         password: env:APP_DB_PASSWORD  # secret reference; SCRAM-SHA-256, md5 or cleartext as the server asks
 *         tls: { mode: verify-full, ca: /etc/ssl/db-ca.pem }   # disable | require | verify-full (default)
 *       unparsedStatements: deny         # deny (default) | review | allow
 *       maxStatementLength: 262144       # longer SQL texts are not parsed: treated as unparsed
 *       record: { rows: 100, valueBytes: 1024 }
 *       masking: { columns: [ssn] }      # result rows masked for client and record (docs/masking.md); default: top-level masking
 *
 * Clients: `PGPASSWORD=$(gatehouse token) psql "host=gw port=5432 dbname=app user=me sslmode=require"`.
 * The user name is informational; identity comes only from the token.
 *
 * Wiring (the gateway does this in server/gateway.ts):
 *
 *   const pg = await startPostgresProxy({ pipeline, connections, listener, tls: { cert, key }, logger });
 *   ...
 *   await pg.close(graceMs);   // before pipeline.closeAll()
 *
 * Records per session: `session.start`, `pg.session` (upstream, TLS, requested user/database),
 * `pg.query` per statement (text; Bind parameters as text or base64, capped), `pg.result` (ms,
 * command tag, rows affected, error SQLSTATE and message, columns with type oids and up to
 * `record.rows` rows of values, truncation marked), denials as `policy.denied`, `session.end`.
 */
export { startPostgresProxy, type PostgresProxy, type PostgresProxyOptions } from './server';
