import { isGatehouseError } from '../../../../gateway/src/errors';
import { canonicalTarget, originForm } from '../../../../gateway/src/protocols/http/canonical-target';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    if (isGatehouseError(e)) return e.code;
    throw e;
  }
}

describe('canonicalTarget: paths', () => {
  it.each([
    // already canonical (the fast path): returned as they are
    ['/', '/'],
    ['/v1/messages', '/v1/messages'],
    ['/v1/messages/', '/v1/messages/'],
    ['/.well-known/openid-configuration', '/.well-known/openid-configuration'],
    ['/a/...', '/a/...'],
    ['/a/..b/.c', '/a/..b/.c'],
    ["/a:b@c!$&'()*+,=~_-", "/a:b@c!$&'()*+,=~_-"],
    ['/Admin', '/Admin'], // case is kept: paths are case-sensitive
    // dot segments (RFC 3986 §5.2.4)
    ['/a/./b', '/a/b'],
    ['/a/b/../c', '/a/c'],
    ['/a/b/..', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['/a/b/c/../../d', '/a/d'],
    ['/./a', '/a'],
    ['/a/..', '/'],
    // encoded dots are dots
    ['/a/%2e/b', '/a/b'],
    ['/a/%2E%2E/b', '/b'],
    ['/a/.%2e/b', '/b'],
    ['/a/%2e./b', '/b'],
    // repeated slashes
    ['//a', '/a'],
    ['/a//b', '/a/b'],
    ['/a///b//', '/a/b/'],
    ['/a/.//b', '/a/b'],
    // unreserved characters are decoded, others keep their escape with upper-case hex
    ['/%61%64%6d%69%6e', '/admin'],
    ['/%41dmin', '/Admin'],
    ['/%7e%2d%5f%2E', '/~-_.'],
    ['/a%20b', '/a%20b'],
    ['/a%3fb', '/a%3Fb'],
    ['/a%23b', '/a%23b'],
    ['/a%25', '/a%25'],
    ['/a%25zz', '/a%25zz'],
    ['/%c3%a9t%C3%A9', '/%C3%A9t%C3%A9'],
    ['/%f0%9f%98%80', '/%F0%9F%98%80'],
    // printable characters that are not allowed raw are encoded
    ['/a|b', '/a%7Cb'],
    ['/{x}', '/%7Bx%7D'],
    ['/a"b<c>^`[]', '/a%22b%3Cc%3E%5E%60%5B%5D'],
    ['', '/'],
  ])('%s → %s', (raw, canonical) => {
    expect(canonicalTarget(raw).path).toBe(canonical);
  });

  it.each([
    // encoded separators
    ['/a%2fb', 'GH_ERR_TARGET_AMBIGUOUS'],
    ['/a%2Fb', 'GH_ERR_TARGET_AMBIGUOUS'],
    ['/a%2F..%2Fadmin', 'GH_ERR_TARGET_AMBIGUOUS'],
    ['/a\\b', 'GH_ERR_TARGET_AMBIGUOUS'],
    ['/a%5cb', 'GH_ERR_TARGET_AMBIGUOUS'],
    ['/a/..\\admin', 'GH_ERR_TARGET_AMBIGUOUS'],
    // path parameters
    ['/admin;x', 'GH_ERR_TARGET_AMBIGUOUS'],
    ['/a/..;/admin', 'GH_ERR_TARGET_AMBIGUOUS'],
    ['/a%3bb', 'GH_ERR_TARGET_AMBIGUOUS'],
    // double encoding
    ['/a/%252e%252e/admin', 'GH_ERR_TARGET_AMBIGUOUS'],
    ['/%252F', 'GH_ERR_TARGET_AMBIGUOUS'],
    // climbing above the root
    ['/..', 'GH_ERR_TARGET_AMBIGUOUS'],
    ['/a/../..', 'GH_ERR_TARGET_AMBIGUOUS'],
    ['/%2e%2e/etc/passwd', 'GH_ERR_TARGET_AMBIGUOUS'],
    // NUL and control characters
    ['/a%00b', 'GH_ERR_TARGET_INVALID'],
    ['/a%0ab', 'GH_ERR_TARGET_INVALID'],
    ['/a%0D%0Ab', 'GH_ERR_TARGET_INVALID'],
    ['/a%1f', 'GH_ERR_TARGET_INVALID'],
    ['/a%7f', 'GH_ERR_TARGET_INVALID'],
    // invalid escapes
    ['/a%', 'GH_ERR_TARGET_INVALID'],
    ['/a%4', 'GH_ERR_TARGET_INVALID'],
    ['/a%g1', 'GH_ERR_TARGET_INVALID'],
    ['/a%%41', 'GH_ERR_TARGET_INVALID'],
    // invalid and overlong UTF-8
    ['/%c0%ae%c0%ae/admin', 'GH_ERR_TARGET_INVALID'],
    ['/%c0%af', 'GH_ERR_TARGET_INVALID'],
    ['/%e0%80%ae', 'GH_ERR_TARGET_INVALID'],
    ['/%c3', 'GH_ERR_TARGET_INVALID'],
    ['/%c3x', 'GH_ERR_TARGET_INVALID'],
    ['/%ff', 'GH_ERR_TARGET_INVALID'],
    ['/%ed%a0%80', 'GH_ERR_TARGET_INVALID'], // a UTF-16 surrogate
    // fragments, raw spaces, raw non-ASCII, not origin-form
    ['/a#b', 'GH_ERR_TARGET_INVALID'],
    ['/a b', 'GH_ERR_TARGET_INVALID'],
    ['/\u00e9', 'GH_ERR_TARGET_INVALID'],
    ['/a\tb', 'GH_ERR_TARGET_INVALID'],
    ['a/b', 'GH_ERR_TARGET_INVALID'],
    ['*', 'GH_ERR_TARGET_INVALID'],
  ])('%s is refused (%s)', (raw, code) => {
    expect(codeOf(() => canonicalTarget(raw))).toBe(code);
  });

  it('reports how far a ".." climbed (for the route prefix check)', () => {
    expect(canonicalTarget('/api/v1/x').lowestDepth).toBe(-1);
    expect(canonicalTarget('/api/v1/../v2').lowestDepth).toBe(1);
    expect(canonicalTarget('/api/../admin').lowestDepth).toBe(0);
    expect(canonicalTarget('/api/%2e%2e/admin').lowestDepth).toBe(0);
    expect(canonicalTarget('/api/a/b/../../c').lowestDepth).toBe(1);
  });
});

describe('canonicalTarget: queries', () => {
  it.each([
    ['/a?x=1', 'x=1', { x: '1' }],
    ['/a?', '', {}],
    ['/a?x=1&&y=2&', 'x=1&y=2', { x: '1', y: '2' }],
    ['/a?flag', 'flag', { flag: '' }],
    ['/a?x=', 'x=', { x: '' }],
    ['/a?x=a+b', 'x=a%20b', { x: 'a b' }],
    ['/a?x=a%2Bb', 'x=a%2Bb', { x: 'a+b' }],
    ['/a?x=%61', 'x=a', { x: 'a' }],
    ['/a?%64ebug=1', 'debug=1', { debug: '1' }],
    ['/a?Debug=1', 'Debug=1', { debug: '1' }],
    ['/a?x=b=c', 'x=b%3Dc', { x: 'b=c' }],
    ['/a?x=1;y=2', 'x=1%3By%3D2', { x: '1;y=2' }],
    ['/a?q=%c3%a9', 'q=%C3%A9', { q: 'é' }],
    ['/a?x=1&x=1', 'x=1&x=1', { x: '1' }],
    ['/a?p=/b?c', 'p=%2Fb%3Fc', { p: '/b?c' }],
    ["/a?x=(!)'*", 'x=%28%21%29%27%2A', { x: "(!)'*" }],
  ])('%s → ?%s', (raw, query, params) => {
    const t = canonicalTarget(raw);
    expect(t.query).toBe(query);
    expect({ ...t.params }).toEqual(params);
  });

  it.each([
    ['/a?x=1&x=2', 'GH_ERR_TARGET_AMBIGUOUS'],
    ['/a?debug=0&DEBUG=1', 'GH_ERR_TARGET_AMBIGUOUS'],
    ['/a?debug=0&%64ebug=1', 'GH_ERR_TARGET_AMBIGUOUS'],
    ['/a?x=%', 'GH_ERR_TARGET_INVALID'],
    ['/a?x=%zz', 'GH_ERR_TARGET_INVALID'],
    ['/a?x=%c0%ae', 'GH_ERR_TARGET_INVALID'],
    ['/a?x=1#frag', 'GH_ERR_TARGET_INVALID'],
    ['/a?__entity=x', 'GH_ERR_TARGET_INVALID'],
    ['/a?x=\u00e9', 'GH_ERR_TARGET_INVALID'],
  ])('%s is refused (%s)', (raw, code) => {
    expect(codeOf(() => canonicalTarget(raw))).toBe(code);
  });

  it('parses into an object without a prototype', () => {
    const t = canonicalTarget('/a?__proto__=x&constructor=y');
    expect(t.params.__proto__).toBe('x');
    expect(t.params.constructor).toBe('y');
  });
});

describe('originForm', () => {
  it('keeps origin-form targets', () => {
    expect(originForm('/a?b', 'h')).toBe('/a?b');
  });
  it('reduces absolute-form whose authority is the Host header', () => {
    expect(originForm('http://api.test/v1/x?y=1', 'api.test')).toBe('/v1/x?y=1');
    expect(originForm('HTTP://API.test:8080', 'api.TEST:8080')).toBe('/');
    expect(originForm('http://api.test?x', 'api.test')).toBe('/?x');
  });
  it.each([
    ['http://other.test/v1/x', 'api.test', 'GH_ERR_TARGET_ABSOLUTE_FORM'],
    ['http://api.test:81/x', 'api.test', 'GH_ERR_TARGET_ABSOLUTE_FORM'],
    ['http://user@api.test/x', 'api.test', 'GH_ERR_TARGET_ABSOLUTE_FORM'],
    ['http://api.test/x', undefined, 'GH_ERR_TARGET_ABSOLUTE_FORM'],
    ['*', 'api.test', 'GH_ERR_TARGET_INVALID'],
    ['api.test:443', 'api.test', 'GH_ERR_TARGET_INVALID'],
    ['ftp://api.test/x', 'api.test', 'GH_ERR_TARGET_INVALID'],
  ])('%s (Host %s) is refused (%s)', (raw, host, code) => {
    expect(codeOf(() => originForm(raw, host))).toBe(code);
  });
});
