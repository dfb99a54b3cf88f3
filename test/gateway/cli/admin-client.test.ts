import { adminClient } from '../../../gateway/src/cli/admin-client';
import { isGatehouseError } from '../../../gateway/src/errors';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

describe('adminClient', () => {
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.headers.authorization !== 'Bearer good') {
        res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'GH_ERR_FORBIDDEN', message: 'not an admin' } }));
      } else if (req.url === '/api/weird') {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'NOT_OURS', message: 'boom' } }));
      } else {
        let body = '';
        req.on('data', (c: Buffer) => (body += c));
        req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, url: req.url, type: req.headers['content-type'] ?? null, body })));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise((r) => server.close(r)));

  const failure = async (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

  it('sends the caller’s token, and JSON bodies only when there is one', async () => {
    const call = adminClient(url, 'good');
    expect(await call('GET', '/api/sessions?user=ada')).toEqual({ method: 'GET', url: '/api/sessions?user=ada', type: null, body: '' });
    expect(await call('POST', '/api/approvals/ap_1/approve', { reason: 'ok' })).toEqual({ method: 'POST', url: '/api/approvals/ap_1/approve', type: 'application/json', body: '{"reason":"ok"}' });
  });

  it('turns a refusal into the API’s own error code, and an unknown code into GH_ERR_INTERNAL', async () => {
    const refused = await failure(adminClient(url, 'bad')('GET', '/api/sessions'));
    expect(isGatehouseError(refused) && refused.code).toBe('GH_ERR_FORBIDDEN');
    expect((refused as Error).message).toBe('admin API 403: not an admin');
    const weird = await failure(adminClient(url, 'good')('GET', '/api/weird'));
    expect(isGatehouseError(weird) && weird.code).toBe('GH_ERR_INTERNAL');
  });

  it('says the gateway did not answer when nothing listens', async () => {
    const gone = await failure(adminClient('http://127.0.0.1:9', 'good')('GET', '/api/sessions'));
    expect(isGatehouseError(gone) && gone.code).toBe('GH_ERR_STATE_UNAVAILABLE');
    expect((gone as Error).message).toContain('is the gateway running?');
  });
});
