import { HttpRouter } from '../../../../gateway/src/protocols/http/router';
import { connection } from './harness';

describe('HttpRouter', () => {
  const router = new HttpRouter([
    connection({ name: 'root', upstream: 'http://u.test/', route: { pathPrefix: '/' } }),
    connection({ name: 'anthropic', upstream: 'https://api.test/base', route: { pathPrefix: '/anthropic/' } }),
    connection({ name: 'anthropic-beta', upstream: 'https://beta.test', route: { pathPrefix: '/anthropic/beta' } }),
    connection({ name: 'hosted', upstream: 'http://h.test/h', route: { host: 'Git.Internal.Test' } }),
    connection({ name: 'hosted-api', upstream: 'http://h.test/api', route: { host: 'git.internal.test', pathPrefix: '/api', stripPrefix: false } }),
  ]);

  it.each([
    ['/anthropic/v1/messages?beta=true', undefined, 'anthropic', '/base/v1/messages?beta=true', '/v1/messages'],
    ['/anthropic', undefined, 'anthropic', '/base/', '/'],
    ['/anthropic/beta/v1/x', undefined, 'anthropic-beta', '/v1/x', '/v1/x'],
    ['/anthropicx', undefined, 'root', '/anthropicx', '/anthropicx'],
    ['/other', 'git.internal.test:443', 'hosted', '/h/other', '/other'],
    ['/api/repos', 'GIT.internal.test', 'hosted-api', '/api/api/repos', '/api/repos'],
  ])('%s (host %s) → %s %s', (url, host, name, upstreamPath, routedPath) => {
    const m = router.match(url, host);
    expect(m?.connection.name).toBe(name);
    expect(m?.upstreamPath).toBe(upstreamPath);
    expect(m?.routedPath).toBe(routedPath);
  });

  it('matches nothing when no route applies', () => {
    const only = new HttpRouter([connection({ name: 'a', upstream: 'http://u.test', route: { pathPrefix: '/a' } })]);
    expect(only.match('/b', undefined)).toBeUndefined();
  });

  it('refuses a target whose ".." climbed into the matched route prefix', () => {
    // canonicalTarget('/anthropic/beta/../beta/x') → path '/anthropic/beta/x', lowest depth 1.
    expect(() => router.route('/anthropic/beta/x', '', undefined, 1)).toThrow(expect.objectContaining({ code: 'GH_ERR_TARGET_ESCAPES_PREFIX' }));
    expect(router.route('/anthropic/beta/x', '', undefined, 2)?.connection.name).toBe('anthropic-beta');
    expect(router.route('/anthropic/v1', 'a=1', undefined, 1)?.upstreamPath).toBe('/base/v1?a=1');
  });
});
