import { parseConfig } from '../../../gateway/src/config/load';

const connection = `
connections:
  - name: box
    kind: ssh
    upstream: { host: 10.0.0.5, user: deploy, privateKey: "env:K", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample" }
`;

// Without the SSH listener nothing would serve the connection: refused with its path, not
// accepted and then silently not served.
test('an ssh connection is refused at validation without listeners.ssh', () => {
  const r = parseConfig(`mode: development\n${connection}`);
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.problems.map((p) => `${p.path}: ${p.message}`)).toContainEqual(expect.stringMatching(/^connections\.0\.kind: connection "box": ssh connections need listeners\.ssh/));
});

test('with listeners.ssh an ssh connection validates, and the SSH listener is not held to the TLS rules', () => {
  const r = parseConfig(`mode: production
recording: { signingKey: "env:SIGN" }
identity: { issuers: [{ name: corp, issuer: "https://idp.example.com", audiences: [gatehouse] }] }
listeners:
  http: { port: 8080, allowPlaintext: true }
  admin: { port: 9090, allowPlaintext: true }
  ssh: { port: 2222, hostKey: "env:HOST_KEY", userCaKey: "env:USER_CA" }
${connection}`);
  expect(r.ok ? [] : r.problems).toEqual([]);
  if (r.ok) expect(r.config.listeners.ssh).toEqual({ address: '127.0.0.1', port: 2222, hostKey: 'env:HOST_KEY', userCaKey: 'env:USER_CA', keyTtlMinutes: 60 });
});

describe('listeners.ssh.deviceLogin', () => {
  const config = (deviceLogin: string, issuers = '[{ name: corp, issuer: "https://idp.example.com", audiences: [gatehouse, gatehouse-ssh] }, { name: ci, issuer: "https://token.actions.githubusercontent.com", audiences: [gatehouse], kind: workload, subjectRules: [{ subject: "repo:acme/*" }] }]') => `mode: production
recording: { signingKey: "env:SIGN" }
identity: { issuers: ${issuers} }
listeners:
  http: { port: 8080, allowPlaintext: true }
  admin: { port: 9090, allowPlaintext: true }
  ssh: { port: 2222, hostKey: "env:HOST_KEY", deviceLogin: ${deviceLogin} }
${connection}`;
  const problems = (text: string) => {
    const r = parseConfig(text);
    return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
  };

  test('validates with a human issuer and a client id among its audiences, with its defaults', () => {
    const r = parseConfig(config('{ issuer: corp, clientId: gatehouse-ssh }'));
    expect(r.ok ? [] : r.problems).toEqual([]);
    if (r.ok) expect(r.config.listeners.ssh?.deviceLogin).toEqual({ issuer: 'corp', clientId: 'gatehouse-ssh', scopes: ['openid', 'email', 'profile'], timeoutSeconds: 300, maxPending: 64, maxPendingPerAddress: 8 });
  });

  test('refuses an unknown issuer, a workload issuer, a client id the issuer does not accept, scopes without openid and bounds below 1 or fractional, each with its path', () => {
    expect(problems(config('{ issuer: nope, clientId: gatehouse }'))).toContainEqual(expect.stringMatching(/^listeners\.ssh\.deviceLogin\.issuer: no identity\.issuers entry is named "nope"/));
    expect(problems(config('{ issuer: ci, clientId: gatehouse }'))).toContainEqual(expect.stringMatching(/^listeners\.ssh\.deviceLogin\.issuer: .*workload issuer/));
    expect(problems(config('{ issuer: corp, clientId: other-client }'))).toContainEqual(expect.stringMatching(/^listeners\.ssh\.deviceLogin\.clientId: "other-client" is not among/));
    expect(problems(config('{ issuer: corp, clientId: gatehouse, scopes: [email] }'))).toContainEqual(expect.stringMatching(/^listeners\.ssh\.deviceLogin\.scopes: .*openid/));
    expect(problems(config('{ issuer: corp, clientId: gatehouse, maxPending: 0, maxPendingPerAddress: 1.5 }'))).toEqual(expect.arrayContaining([expect.stringMatching(/^listeners\.ssh\.deviceLogin\.maxPending: /), expect.stringMatching(/^listeners\.ssh\.deviceLogin\.maxPendingPerAddress: /)]));
  });
});
