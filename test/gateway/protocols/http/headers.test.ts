import { applyCredential, buildUpstreamHeaders, narrowAcceptEncoding, redactQuery, sensitiveQuerySet } from '../../../../gateway/src/protocols/http/headers';

describe('narrowAcceptEncoding', () => {
  it('keeps what zlib decodes, with their weights, and drops zstd and unknown codings', () => {
    expect(narrowAcceptEncoding('gzip, deflate, br, zstd')).toBe('gzip, deflate, br');
    expect(narrowAcceptEncoding('zstd;q=1.0, br;q=0.9, compress')).toBe('br;q=0.9');
  });
  it('asks for identity when nothing decodable remains or nothing was asked', () => {
    expect(narrowAcceptEncoding('zstd')).toBe('identity');
    expect(narrowAcceptEncoding(undefined)).toBe('identity');
    expect(narrowAcceptEncoding('*')).toBe('identity');
  });
});

describe('buildUpstreamHeaders', () => {
  it('drops hop-by-hop headers, the ones named in Connection, the caller credentials and Host; appends X-Forwarded-For', () => {
    const out = buildUpstreamHeaders(
      {
        host: 'gw',
        connection: 'keep-alive, x-secret-hop',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        upgrade: 'h2c',
        'x-secret-hop': '1',
        authorization: 'Bearer caller',
        'x-api-key': 'caller',
        'proxy-authorization': 'Basic x',
        'x-forwarded-for': '10.0.0.9',
        'content-type': 'application/json',
      },
      { clientAddress: '::1', proto: 'https', host: 'gw' },
    );
    expect(out).toEqual({
      'content-type': 'application/json',
      'accept-encoding': 'identity',
      'x-forwarded-for': '10.0.0.9, ::1',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'gw',
      forwarded: 'for="[::1]";proto=https;host="gw"',
    });
  });
});

describe('applyCredential', () => {
  it('appends a query credential after an existing query, URL-encoded', () => {
    expect(applyCredential({ type: 'query', param: 'key', secret: 'env:X' }, 'a&b=c', {}, '/p?x=1')).toBe('/p?x=1&key=a%26b%3Dc');
    expect(applyCredential({ type: 'query', param: 'key', secret: 'env:X' }, 's', {}, '/p')).toBe('/p?key=s');
  });
  it('removes a caller-supplied parameter of the credential name, so the caller cannot choose the credential', () => {
    expect(applyCredential({ type: 'query', param: 'key', secret: 'env:X' }, 's', {}, '/p?key=mine&x=1&KEY=again')).toBe('/p?x=1&key=s');
    expect(applyCredential({ type: 'query', param: 'key', secret: 'env:X' }, 's', {}, '/p?key=mine')).toBe('/p?key=s');
  });
  it('leaves everything alone for type none', () => {
    const h = {};
    expect(applyCredential({ type: 'none' }, undefined, h, '/p')).toBe('/p');
    expect(h).toEqual({});
  });
});

describe('redactQuery', () => {
  it('redacts sensitive names case-insensitively, including the connection credential param, and keeps order', () => {
    const set = sensitiveQuerySet({ type: 'query', param: 'X-Custom-Key', secret: 'env:X' });
    expect(redactQuery('?a=1&TOKEN=t&x-custom-key=k&b', set)).toBe('?a=1&TOKEN=[REDACTED]&x-custom-key=[REDACTED]&b');
    expect(redactQuery('', set)).toBe('');
  });
});
