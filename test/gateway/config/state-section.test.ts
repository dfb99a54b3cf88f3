import { parseConfig } from '../../../gateway/src/config/load';

const base = `
mode: development
identity:
  devIssuer: { enabled: true }
listeners:
  http: { port: 0, allowPlaintext: true }
  admin: { port: 0, allowPlaintext: true }
`;

function problems(state: string): { path: string; message: string }[] {
  const result = parseConfig(`${base}state:\n${state}`);
  return result.ok ? [] : result.problems.map((p) => ({ path: p.path, message: p.message }));
}

describe('config: the state section', () => {
  test('what the Azure and GCP kits emit is valid: a password-less verify-full URL with iamAuth, a CA reference, a server name and a schema', () => {
    const result = parseConfig(`${base}state:
  url: postgresql://gatehouse-sa%40proj.iam@10.1.2.3:5432/gatehouse?sslmode=verify-full
  iamAuth: gcp-cloudsql
  caCert: gcp-sm:projects/p/secrets/gatehouse-state-ca
  serverName: proj:gatehouse-state
  schema: gatehouse
`);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.config.state).toMatchObject({ iamAuth: 'gcp-cloudsql', caCert: 'gcp-sm:projects/p/secrets/gatehouse-state-ca', serverName: 'proj:gatehouse-state', schema: 'gatehouse' });
    expect(problems('  url: postgresql://gatehouse-id@db.postgres.database.azure.com:5432/gatehouse?sslmode=verify-full\n  iamAuth: azure-entra\n')).toEqual([]);
  });

  test('the defaults are those of today: embedded store, no IAM, no schema', () => {
    const result = parseConfig(base);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.config.state).toEqual({ embeddedPath: './.gatehouse/state' });
  });

  test.each(['require', 'verify-ca', 'prefer', 'disable', 'no-verify'])('sslmode=%s with iamAuth is refused at validation, naming state.url', (mode) => {
    const found = problems(`  url: postgresql://app@db.example:5432/gh?sslmode=${mode}\n  iamAuth: azure-entra\n`);
    expect(found).toEqual([{ path: 'state.url', message: expect.stringContaining(`needs sslmode=verify-full in the URL (found sslmode=${mode})`) }]);
  });

  test('no sslmode at all with iamAuth is refused too', () => {
    expect(problems('  url: postgresql://app@db.example:5432/gh\n  iamAuth: gcp-cloudsql\n')).toEqual([{ path: 'state.url', message: expect.stringContaining('found no sslmode') }]);
  });

  test('a password in the URL together with iamAuth is refused, without repeating the password', () => {
    const found = problems('  url: postgresql://app:hunter2@db.example:5432/gh?sslmode=verify-full\n  iamAuth: azure-entra\n');
    expect(found).toEqual([{ path: 'state.url', message: expect.stringContaining('a password in the URL together with iamAuth azure-entra') }]);
    expect(JSON.stringify(found)).not.toContain('hunter2');
  });

  test('iamAuth needs the user in the URL', () => {
    expect(problems('  url: postgresql://db.example:5432/gh?sslmode=verify-full\n  iamAuth: azure-entra\n')).toEqual([{ path: 'state.url', message: expect.stringContaining('needs the database user') }]);
  });

  test('caCert and serverName are refused unless the URL says verify-full (they would be ignored)', () => {
    expect(problems('  url: postgresql://app:pw@db.example/gh?sslmode=require\n  caCert: env:CA\n  serverName: db.internal\n').map((p) => p.path)).toEqual(['state.url', 'state.caCert', 'state.serverName']);
  });

  test('IAM and TLS options without a URL are refused (the embedded store has no server)', () => {
    expect(problems('  iamAuth: azure-entra\n  caCert: env:CA\n').map((p) => p.path)).toEqual(['state.iamAuth', 'state.caCert']);
  });

  test('caCert must be a secret reference; schema a plain lowercase name; iamAuth a known kind', () => {
    expect(problems('  url: postgresql://a@h/d?sslmode=verify-full\n  caCert: /etc/ca.pem\n').map((p) => p.path)).toContain('state.caCert');
    expect(problems('  schema: "gh; drop table x"\n').map((p) => p.path)).toContain('state.schema');
    expect(problems('  url: postgresql://a@h/d?sslmode=verify-full\n  iamAuth: kerberos\n').map((p) => p.path)).toContain('state.iamAuth');
  });

  describe('a state database on another host must be verified (sslmode=verify-full)', () => {
    test.each([
      ['no sslmode (plaintext)', 'postgresql://app:pw@db.example:5432/gh', 'found no sslmode'],
      ['disable', 'postgresql://app:pw@db.example:5432/gh?sslmode=disable', 'found sslmode=disable'],
      ['no-verify', 'postgresql://app:pw@db.example:5432/gh?sslmode=no-verify', 'found sslmode=no-verify'],
      ['require (libpq: no name check)', 'postgresql://app:pw@10.1.2.3:5432/gh?sslmode=require', 'found sslmode=require'],
      ['verify-ca', 'postgresql://app:pw@db.example:5432/gh?sslmode=verify-ca', 'found sslmode=verify-ca'],
    ])('%s is refused at validation, naming state.url and the way out, never the password', (_name, url, found) => {
      const got = problems(`  url: "${url}"\n`);
      expect(got).toEqual([{ path: 'state.url', message: expect.stringContaining(`a state database on another host needs sslmode=verify-full (${found})`) }]);
      expect(got[0]!.message).toContain('state.allowUnverifiedServer: true');
      expect(JSON.stringify(got)).not.toContain(':pw@');
    });

    test('verify-full in the URL, or state.sslMode raising it, is accepted (with or without caCert)', () => {
      expect(problems('  url: postgresql://app:pw@db.example/gh?sslmode=verify-full\n')).toEqual([]);
      expect(problems('  url: postgresql://app:pw@db.example/gh?sslmode=require\n  sslMode: verify-full\n  caCert: env:CA\n')).toEqual([]);
    });

    test('loopback and unix sockets (a local proxy such as the Cloud SQL Auth Proxy) are exempt', () => {
      for (const url of ['postgres://app@127.0.0.1:5432/gh', 'postgres://app@localhost/gh?sslmode=disable', 'postgres://app@[::1]:5432/gh', 'postgres://app@/gh?host=/var/run/postgresql']) {
        expect([url, problems(`  url: "${url}"\n`)]).toEqual([url, []]);
      }
    });

    test('state.allowUnverifiedServer: true is the explicit opt-out, and it is warned about', () => {
      const result = parseConfig(`${base}state:\n  url: postgresql://app:pw@db.example/gh?sslmode=require\n  allowUnverifiedServer: true\n`);
      if (!result.ok) throw new Error(JSON.stringify(result.problems));
      expect(result.warnings).toContainEqual(expect.stringContaining('state.allowUnverifiedServer'));
    });

    test('the opt-out never covers a login token (iamAuth), nor applies without a URL', () => {
      expect(problems('  url: postgresql://app@db.example/gh?sslmode=require\n  iamAuth: azure-entra\n  allowUnverifiedServer: true\n').map((p) => p.path).sort()).toEqual(['state.allowUnverifiedServer', 'state.url']);
      expect(problems('  allowUnverifiedServer: true\n').map((p) => p.path)).toEqual(['state.allowUnverifiedServer']);
    });
  });

  test('a URL held in a secret is checked when the store opens, not at validation', () => {
    expect(problems('  url: azure-kv:gatehouse-state-url\n  iamAuth: azure-entra\n')).toEqual([]);
  });
});
