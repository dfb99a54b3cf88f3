import { parseConfig } from '../../../gateway/src/config/load';

const issuers = (audiences: string) => `
identity:
  issuers:
    - { name: corp, issuer: "https://idp.example.com", audiences: [${audiences}] }
`;

function problems(source: string): Record<string, string> {
  const r = parseConfig(source);
  return r.ok ? {} : Object.fromEntries(r.problems.map((p) => [p.path, p.message]));
}

describe('console configuration', () => {
  test('off by default, with a one-hour login and the OIDC scopes', () => {
    const r = parseConfig(`mode: development\n${issuers('gatehouse')}`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.console).toEqual({ enabled: false, scopes: ['openid', 'email', 'profile'], sessionMinutes: 60 });
  });

  test('enabled needs an issuer entry, a client id among its audiences and an external URL', () => {
    expect(problems(`mode: development\n${issuers('gatehouse')}\nconsole: { enabled: true }\n`)).toMatchObject({
      'console.issuer': expect.stringMatching(/identity.issuers/),
      'console.clientId': expect.stringMatching(/client id/),
      'console.externalUrl': expect.stringMatching(/redirect URI/),
    });
    expect(problems(`mode: development\n${issuers('gatehouse')}\nconsole: { enabled: true, issuer: other, clientId: c, externalUrl: "http://127.0.0.1:9090" }\n`)['console.issuer']).toMatch(/no identity.issuers entry is named "other"/);
    expect(problems(`mode: development\n${issuers('gatehouse')}\nconsole: { enabled: true, issuer: corp, clientId: gatehouse-console, externalUrl: "http://127.0.0.1:9090" }\n`)['console.clientId']).toMatch(/audiences/);
    expect(parseConfig(`mode: development\n${issuers('gatehouse, gatehouse-console')}\nconsole: { enabled: true, issuer: corp, clientId: gatehouse-console, externalUrl: "http://127.0.0.1:9090" }\n`).ok).toBe(true);
  });

  test('production refuses a console without a session key or over http', () => {
    const p = problems(`mode: production\n${issuers('gatehouse-console')}\nconsole: { enabled: true, issuer: corp, clientId: gatehouse-console, externalUrl: "http://admin.example.com" }\n`);
    expect(p['console.sessionKey']).toMatch(/session key/);
    expect(p['console.externalUrl']).toMatch(/https/);
  });

  test('issuer dev logs people in with the development issuer: no client id, but the development issuer must be on', () => {
    const dev = 'mode: development\nidentity: { devIssuer: { enabled: true } }\n';
    expect(parseConfig(`${dev}console: { enabled: true, issuer: dev, externalUrl: "http://127.0.0.1:9090" }\n`).ok).toBe(true);
    expect(problems(`mode: development\n${issuers('gatehouse')}\nconsole: { enabled: true, issuer: dev, externalUrl: "http://127.0.0.1:9090" }\n`)['console.issuer']).toMatch(/identity.devIssuer.enabled/);
    // Production refuses the development issuer itself, so it can never log anyone in to a production console.
    expect(problems(`mode: production\nidentity: { devIssuer: { enabled: true } }\nconsole: { enabled: true, issuer: dev, externalUrl: "https://a.example.com", sessionKey: "env:K" }\n`)['identity.devIssuer.enabled']).toMatch(/refused in production/);
  });

  test('the console can have its own listener, only when the console is on', () => {
    const base = `mode: development\n${issuers('gatehouse, gatehouse-console')}\n`;
    const on = parseConfig(`${base}listeners: { console: { port: 9443 } }\nconsole: { enabled: true, issuer: corp, clientId: gatehouse-console, externalUrl: "http://127.0.0.1:9443" }\n`);
    expect(on.ok).toBe(true);
    if (on.ok) expect(on.config.listeners.console).toEqual({ address: '127.0.0.1', port: 9443, allowPlaintext: false });
    expect(problems(`${base}listeners: { console: { port: 9443 } }\n`)['listeners.console']).toMatch(/console.enabled is false/);
    // Like every listener: TLS in production unless plaintext is asked for explicitly.
    expect(problems(`mode: production\n${issuers('gatehouse-console')}\nlisteners: { console: { address: 0.0.0.0, port: 9443 } }\nconsole: { enabled: true, issuer: corp, clientId: gatehouse-console, externalUrl: "https://c.example.com", sessionKey: "env:K" }\n`)['listeners.console.tls']).toMatch(/TLS is required/);
  });
});
