import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createUpstreamPool, headersFromRaw, upstreamFailureOf } from '../../../../gateway/src/protocols/http/upstream-pool';

describe('headersFromRaw', () => {
  it('lower-cases names and follows Node’s rules for repeated headers', () => {
    const raw = ['Content-Type', 'application/json', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'Vary', 'accept', 'vary', 'origin', 'Content-Type', 'text/plain', 'Cookie', 'x=1', 'cookie', 'y=2'].map((s) => Buffer.from(s, 'latin1'));
    expect(headersFromRaw(raw)).toEqual({
      'content-type': 'application/json',
      'set-cookie': ['a=1', 'b=2'],
      vary: 'accept, origin',
      cookie: 'x=1; y=2',
    });
  });

  it('keeps latin-1 bytes as they are on the wire', () => {
    expect(headersFromRaw([Buffer.from('x-name'), Buffer.from([0x63, 0x61, 0x66, 0xe9])])).toEqual({ 'x-name': 'caf\u00e9' });
  });
});

describe('upstreamFailureOf', () => {
  const coded = (code: string): Error => Object.assign(new Error('boom'), { code });
  it.each([
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['UND_ERR_BODY_TIMEOUT', 'timeout'],
    ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
    ['UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'invalid_request'],
    ['ECONNREFUSED', 'unavailable'],
    ['UND_ERR_SOCKET', 'unavailable'],
  ])('%s is %s', (code, kind) => {
    expect(upstreamFailureOf(coded(code))).toEqual({ kind, detail: code });
  });
});

describe('createUpstreamPool', () => {
  it('reuses one keep-alive connection for sequential requests and bounds the wait for headers', async () => {
    const sockets = new Set<unknown>();
    const server = http.createServer((req, res) => {
      sockets.add(req.socket);
      if (req.url === '/slow') return; // never answers: the pool's headers timeout must fire
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const pool = createUpstreamPool(`http://127.0.0.1:${port}`, { connections: 4, timeoutMs: 300 });
    try {
      for (let i = 0; i < 6; i++) {
        const r = await pool.request({ path: '/', method: 'GET' });
        expect(await r.body.text()).toBe('ok');
      }
      // Keep-alive: six sequential requests share one or two connections (a slot frees a tick after the body ends).
      expect(sockets.size).toBeLessThanOrEqual(2);
      const err = await pool.request({ path: '/slow', method: 'GET' }).then(() => undefined, (e: Error) => e);
      expect(upstreamFailureOf(err!).kind).toBe('timeout');
    } finally {
      await pool.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
