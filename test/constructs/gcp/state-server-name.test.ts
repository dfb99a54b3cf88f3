// The name the kit hands the gateway for verify-full against Cloud SQL (`state.serverName`,
// StateDatabase.serverName) works with the gateway's real TLS check. Cloud SQL's per-instance CA
// (GOOGLE_MANAGED_INTERNAL_CA, what the kit selects) issues server certificates whose subject CN is
// `<project>:<instance>` and which carry no IP or DNS name: Google's own connectors fall back to
// that CN (GoogleCloudPlatform/cloud-sql-nodejs-connector, src/socket.ts, validateCertificate).
// Here openssl makes a certificate of that shape, a TLS server on 127.0.0.1 presents it, and the
// gateway's own client options (pgClientConfig) connect to it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type ConnectionOptions, type Server } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { StateDatabase } from '../../../constructs/gcp/state-database';
import { pgClientConfig } from '../../../gateway/src/state/pg-client-config';
import { synth } from '../../support/cdktf';

let dir: string;
let server: Server;
let port: number;
let caPem: string;
let serverName = '';

beforeAll(async () => {
  synth((s) => {
    const db = new StateDatabase(s, 'D', { project: 'acme-prod', region: 'europe-west1', networkId: 'n', instanceName: 'gatehouse-state' });
    serverName = db.serverName.replace(/\$\{[^}]+\}/, 'gatehouse-state');
  });
  dir = mkdtempSync(join(tmpdir(), 'gh-cloudsql-cert-'));
  const f = (n: string) => join(dir, n);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=Google Cloud SQL Server CA/O=Google, Inc', '-keyout', f('ca.key'), '-out', f('ca.pem'));
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${serverName}/O=Google, Inc`, '-keyout', f('server.key'), '-out', f('server.csr'));
  writeFileSync(f('ext.cnf'), 'basicConstraints=CA:FALSE\n'); // no subjectAltName, as Cloud SQL's per-instance certificates
  openssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f('ext.cnf'), '-out', f('server.pem'));
  caPem = readFileSync(f('ca.pem'), 'utf8');
  server = createServer({ key: readFileSync(f('server.key')), cert: readFileSync(f('server.pem')) }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function handshake(name: string | undefined): Promise<string> {
  const ssl = pgClientConfig({ url: `postgresql://gw%40acme-prod.iam@127.0.0.1:${port}/gatehouse?sslmode=verify-full`, iamAuth: 'gcp-cloudsql', caCert: 'env:X', caPem, ...(name ? { serverName: name } : {}) }).ssl as ConnectionOptions;
  return new Promise((resolve) => {
    const socket = connect({ ...ssl, host: '127.0.0.1', port }, () => { socket.end(); resolve('ok'); });
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

test('the kit names the instance as its server certificate does: <project>:<instance>', () => {
  expect(serverName).toBe('acme-prod:gatehouse-state');
});

test('verify-full with that name and the instance CA succeeds over a real TLS handshake', async () => {
  expect(await handshake(serverName)).toBe('ok');
});

test('the private IP alone, or another instance\'s name, is refused', async () => {
  expect(await handshake(undefined)).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
  expect(await handshake('acme-prod:other-instance')).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
});
