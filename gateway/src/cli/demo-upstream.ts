import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The quickstart's demo API: a tiny JSON service on loopback that only answers callers holding
 * its own credential, so the first request shows credential brokering at work (the agent never
 * sees `expectedToken`; Gatehouse injects it).
 */
export async function startDemoUpstream(port: number, expectedToken: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && (req.url ?? '').split('?')[0] === '/v1/messages') {
        demoMessages(req, res, Buffer.concat(chunks), expectedToken);
        return;
      }
      const authorized = req.headers.authorization === `Bearer ${expectedToken}`;
      const body = authorized
        ? {
            message: 'hello from the demo API',
            method: req.method,
            path: req.url,
            receivedBody: Buffer.concat(chunks).toString('utf8') || null,
            credential: 'the demo API saw the credential Gatehouse injected; your token never reached it',
            forwardedFor: req.headers['x-forwarded-for'] ?? null,
          }
        : { error: 'the demo API requires its own credential' };
      const text = JSON.stringify(body, null, 2) + '\n';
      res.writeHead(authorized ? 200 : 401, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound.port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/**
 * A stand-in for Anthropic's Messages API (the `anthropic` connection of `gatehouse dev`), enough
 * for Claude Code and the SDKs: it checks its own key (injected by the gateway) and
 * answers every request with one short text, streamed as server-sent events when asked. No model
 * runs: it shows the path (identity, policy, recording, brokered key), not intelligence.
 */
function demoMessages(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, expectedToken: string): void {
  // The gateway injects it as x-api-key (the dev configuration); some SDK versions send Bearer.
  if (req.headers['x-api-key'] !== expectedToken && req.headers.authorization !== `Bearer ${expectedToken}`) {
    const text = JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'the demo model requires its own key' } });
    res.writeHead(401, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    return;
  }
  let request: { model?: unknown; stream?: unknown };
  try {
    request = JSON.parse(body.toString('utf8')) as typeof request;
  } catch {
    const text = JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'the body is not JSON' } });
    res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    return;
  }
  const model = typeof request.model === 'string' ? request.model : 'demo';
  const answer = 'Hello from the Gatehouse demo model. Your request went through the gateway, which checked your token and policy, recorded the exchange and used its own key upstream.';
  const usage = { input_tokens: Math.ceil(body.length / 4), output_tokens: 30 };
  const message = { id: 'msg_gatehouse_demo', type: 'message', role: 'assistant', model, content: [] as unknown[], stop_reason: null as string | null, stop_sequence: null, usage };
  if (request.stream !== true) {
    const text = JSON.stringify({ ...message, content: [{ type: 'text', text: answer }], stop_reason: 'end_turn' });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  send('message_start', { type: 'message_start', message: { ...message, usage: { ...usage, output_tokens: 1 } } });
  send('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
  for (const piece of answer.match(/.{1,40}/g) ?? []) send('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } });
  send('content_block_stop', { type: 'content_block_stop', index: 0 });
  send('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
  send('message_stop', { type: 'message_stop' });
  res.end();
}
