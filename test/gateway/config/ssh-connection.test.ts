import { parseConfig } from '../../../gateway/src/config/load';

// No listener serves ssh connections yet: a config naming one must be refused with its path,
// not accepted and then silently not served.
test('an ssh connection is refused at validation until a listener serves it', () => {
  const r = parseConfig(`
mode: development
connections:
  - name: box
    kind: ssh
    upstream: { host: 10.0.0.5, user: deploy, privateKey: "env:K", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample" }
`);
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.problems.map((p) => `${p.path}: ${p.message}`)).toContainEqual(expect.stringMatching(/^connections\.0\.kind: connection "box": ssh connections are not served/));
});
