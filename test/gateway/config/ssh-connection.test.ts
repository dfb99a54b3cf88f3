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
