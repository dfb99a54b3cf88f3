import { createHash, createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ERROR_CODES, GatehouseError, type ErrorCode } from '../../../../gateway/src/errors';
import { assumeRole, BrokeredCredentials } from '../../../../gateway/src/protocols/aws/brokered';
import { awsErrorCode, awsErrorResponse } from '../../../../gateway/src/protocols/aws/errors';
import { resignChunks, signingKey, type ChunkSigner } from '../../../../gateway/src/protocols/aws/resign';
import { verifySignature, parseAuthorization } from '../../../../gateway/src/protocols/aws/sigv4';

/**
 * Chunk re-signing against AWS's own published example (sigv4-streaming: 66560 bytes of "a" in
 * 64 KiB chunks, AKIAIOSFODNN7EXAMPLE, 20130524T000000Z, its seed and chunk signatures), the
 * error mapping, and the gateway's own sts:AssumeRole against a stand-in that checks its signature.
 */
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const AWS_EXAMPLE: ChunkSigner = {
  key: signingKey(SECRET, '20130524', 'us-east-1', 's3'),
  amzDate: '20130524T000000Z',
  scope: '20130524/us-east-1/s3/aws4_request',
  seed: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
};
const AWS_CHUNK_SIGNATURES = [
  'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
  '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
  'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
];

function framed(sizes: number[], signatures: string[]): Buffer {
  return Buffer.concat(sizes.flatMap((n, i) => [Buffer.from(`${n.toString(16)};chunk-signature=${signatures[i]}\r\n`), Buffer.alloc(n, 'a'), Buffer.from('\r\n')]));
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of source) out.push(c);
  return Buffer.concat(out);
}

async function* pieces(b: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

describe('resignChunks', () => {
  const body = framed([65536, 1024, 0], AWS_CHUNK_SIGNATURES);

  it("accepts AWS's published chunk chain and re-signs it in the upstream's chain (here the same key: the same signatures), in pieces of any size", async () => {
    for (const piece of [1, 7, 1000, body.length]) {
      expect((await collect(resignChunks(pieces(body, piece), AWS_EXAMPLE, () => AWS_EXAMPLE))).equals(body)).toBe(true);
    }
  });

  it('re-signs with another key: same length, new signatures, data unchanged', async () => {
    const upstream: ChunkSigner = { ...AWS_EXAMPLE, key: signingKey('another-secret', '20130524', 'us-east-1', 's3'), seed: 'f'.repeat(64) };
    const out = await collect(resignChunks(pieces(body, 4096), AWS_EXAMPLE, () => upstream));
    expect(out.length).toBe(body.length);
    expect(out.toString('latin1')).not.toContain(AWS_CHUNK_SIGNATURES[0]);
    expect(out.subarray(out.indexOf('\r\n') + 2, out.indexOf('\r\n') + 2 + 65536).equals(Buffer.alloc(65536, 'a'))).toBe(true);
  });

  it('refuses a changed chunk, a wrong signature, a truncated body and bytes after the last chunk', async () => {
    const changed = Buffer.from(body);
    changed[100] = 0x62;
    const wrong = framed([65536, 1024, 0], [AWS_CHUNK_SIGNATURES[0]!, 'e'.repeat(64), AWS_CHUNK_SIGNATURES[2]!]);
    for (const bad of [changed, wrong, body.subarray(0, body.length - 10), Buffer.concat([body, Buffer.from('x')])]) {
      await expect(collect(resignChunks(pieces(bad, 8192), AWS_EXAMPLE, () => AWS_EXAMPLE))).rejects.toMatchObject({ code: 'GH_ERR_AWS_SIGNATURE_MISMATCH' });
    }
  });

  it('emits nothing of a chunk whose signature fails', async () => {
    const wrong = framed([65536, 1024, 0], ['e'.repeat(64), AWS_CHUNK_SIGNATURES[1]!, AWS_CHUNK_SIGNATURES[2]!]);
    const emitted: Buffer[] = [];
    await expect((async () => {
      for await (const c of resignChunks(pieces(wrong, 8192), AWS_EXAMPLE, () => AWS_EXAMPLE)) emitted.push(c);
    })()).rejects.toBeInstanceOf(GatehouseError);
    expect(emitted).toEqual([]);
  });
});

describe('resignChunks with signed trailers (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER)', () => {
  // AWS's chunk chain above, its final chunk followed by a checksum trailer signed from that chunk's signature.
  const checksum = 'x-amz-checksum-crc32c:sOO8/Q==';
  const trailerSig = (signer: ChunkSigner, previous: string, canonical: string): string =>
    createHmac('sha256', signer.key).update(`AWS4-HMAC-SHA256-TRAILER\n${signer.amzDate}\n${signer.scope}\n${previous}\n${createHash('sha256').update(canonical).digest('hex')}`).digest('hex');
  const stream = (lines: string[]): Buffer =>
    Buffer.concat([framed([65536, 1024], AWS_CHUNK_SIGNATURES), Buffer.from(`0;chunk-signature=${AWS_CHUNK_SIGNATURES[2]}\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`)]);
  const signedLine = `x-amz-trailer-signature:${trailerSig(AWS_EXAMPLE, AWS_CHUNK_SIGNATURES[2]!, `${checksum}\n`)}`;
  const trailers = { trailers: ['x-amz-checksum-crc32c'] };

  it('accepts a trailer signed from the final chunk over its canonical form, passes it on unchanged and re-signed, in pieces of any size', async () => {
    const body = stream([checksum, signedLine]);
    for (const piece of [1, 13, body.length]) expect((await collect(resignChunks(pieces(body, piece), AWS_EXAMPLE, () => AWS_EXAMPLE, trailers))).equals(body)).toBe(true);
    const upstream: ChunkSigner = { ...AWS_EXAMPLE, key: signingKey('another-secret', '20130524', 'us-east-1', 's3'), seed: 'f'.repeat(64) };
    const out = await collect(resignChunks(pieces(body, 4096), AWS_EXAMPLE, () => upstream, trailers));
    expect(out.length).toBe(body.length);
    const text = out.toString('latin1');
    const finalSig = /\r\n0;chunk-signature=([0-9a-f]{64})\r\n/.exec(text)![1]!;
    expect(text.endsWith(`${checksum}\r\nx-amz-trailer-signature:${trailerSig(upstream, finalSig, `${checksum}\n`)}\r\n\r\n`)).toBe(true);
  });

  it('refuses a changed, undeclared, repeated or missing trailing header, a missing or misplaced signature, and bytes after the trailer', async () => {
    const cases: [string, Buffer, { trailers: string[] }?][] = [
      ['checksum changed after signing', stream(['x-amz-checksum-crc32c:AAAAAA==', signedLine])],
      ['undeclared header', stream([checksum, 'x-amz-meta-x:1', signedLine])],
      ['repeated header', stream([checksum, checksum, signedLine])],
      ['declared header missing', stream([checksum, signedLine]), { trailers: ['x-amz-checksum-crc32c', 'x-amz-checksum-sha256'] }],
      ['no signature', stream([checksum])],
      ['header after the signature', stream([signedLine, checksum])],
      ['bytes after', Buffer.concat([stream([checksum, signedLine]), Buffer.from('x')])],
      ['cut short', stream([checksum, signedLine]).subarray(0, -2)],
    ];
    for (const [what, body, options] of cases) {
      await expect([what, await collect(resignChunks(pieces(body, 8192), AWS_EXAMPLE, () => AWS_EXAMPLE, options ?? trailers)).then(() => 'passed', (e: GatehouseError) => e.code)]).toEqual([what, 'GH_ERR_AWS_SIGNATURE_MISMATCH']);
    }
  });
});

describe('AWS errors', () => {
  it('maps every GH_ERR_* code to an AWS error code in each shape', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      for (const p of ['restXml', 'query', 'json'] as const) expect(awsErrorCode(code, p)).toMatch(/^[A-Za-z0-9]+$/);
    }
    expect(awsErrorCode('GH_ERR_AWS_CREDENTIAL_EXPIRED', 'restXml')).toBe('ExpiredToken');
    expect(awsErrorCode('GH_ERR_AWS_CREDENTIAL_EXPIRED', 'json')).toBe('ExpiredTokenException');
    expect(awsErrorCode('GH_ERR_POLICY_DENIED', 'json')).toBe('AccessDeniedException');
    expect(awsErrorCode('GH_ERR_RECORDING_FAILED', 'restXml')).toBe('ServiceUnavailable');
  });

  it('escapes the message in XML and names the gateway code, decision and request id', () => {
    const r = awsErrorResponse(new GatehouseError('GH_ERR_POLICY_DENIED', 'no <deletes> & such'), 'restXml', { requestId: 'r1', decision: 'policy.forbid' });
    expect(r.status).toBe(403);
    expect(r.body).toContain('<Code>AccessDenied</Code>');
    expect(r.body).toContain('no &lt;deletes&gt; &amp; such (GH_ERR_POLICY_DENIED, decision policy.forbid)');
    expect(r.headers['x-amz-request-id']).toBe('r1');
    const j = awsErrorResponse(new GatehouseError('GH_ERR_AWS_SIGNATURE_MISMATCH', 'bad'), 'json');
    expect(JSON.parse(j.body)).toMatchObject({ __type: 'InvalidSignatureException' });
    expect(j.headers['x-amzn-errortype']).toBe('InvalidSignatureException');
  });
});

describe('the brokered credential', () => {
  let server: Server;
  let calls = 0;
  let endpoint: string;
  const SOURCE = { accessKeyId: 'AKIASOURCEEXAMPLE001', secretAccessKey: 'source-secret' };

  beforeAll(async () => {
    // A minimal STS: checks the AssumeRole request's SigV4 signature with the source credential.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        calls++;
        const body = Buffer.concat(chunks);
        const headers: [string, string][] = [];
        for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
        const signed = { method: req.method!, path: req.url!, query: '', headers, body };
        try {
          verifySignature(signed, parseAuthorization(signed), SOURCE.secretAccessKey, { service: 'sts', region: 'eu-west-1' });
        } catch {
          res.writeHead(403).end('<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code></Error></ErrorResponse>');
          return;
        }
        const form = new URLSearchParams(body.toString('utf8'));
        if (form.get('Action') !== 'AssumeRole' || form.get('RoleArn') !== 'arn:aws:iam::123456789012:role/agent-s3') {
          res.writeHead(400).end('<ErrorResponse><Error><Code>ValidationError</Code></Error></ErrorResponse>');
          return;
        }
        const exp = new Date(Date.now() + 3600_000).toISOString();
        res.writeHead(200, { 'content-type': 'text/xml' }).end(
          `<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAASSUMED${calls}</AccessKeyId><SecretAccessKey>assumed-secret</SecretAccessKey><SessionToken>token&amp;${calls}</SessionToken><Expiration>${exp}</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>`,
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('assumes the role with a signed sts:AssumeRole and reads the credentials', async () => {
    const c = await assumeRole(SOURCE, { roleArn: 'arn:aws:iam::123456789012:role/agent-s3', sessionName: 'gatehouse-s3', durationSeconds: 900, region: 'eu-west-1', endpoint });
    expect(c).toMatchObject({ accessKeyId: expect.stringMatching(/^ASIAASSUMED/), secretAccessKey: 'assumed-secret', sessionToken: expect.stringMatching(/^token&\d+$/) });
    await expect(assumeRole({ ...SOURCE, secretAccessKey: 'wrong' }, { roleArn: 'arn:aws:iam::123456789012:role/agent-s3', sessionName: 's', durationSeconds: 900, region: 'eu-west-1', endpoint })).rejects.toMatchObject({ code: 'GH_ERR_SECRET_UNAVAILABLE' });
  });

  it('is cached in memory until shortly before it expires, fetched once for concurrent callers', async () => {
    let now = Date.now();
    let fetched = 0;
    const brokered = new BrokeredCredentials(async () => {
      fetched++;
      return { accessKeyId: `A${fetched}`, secretAccessKey: 's', expiration: new Date(now + 3600_000) };
    }, () => now);
    const [a, b] = await Promise.all([brokered.get(), brokered.get()]);
    expect([a, b].map((c) => (c as { accessKeyId: string }).accessKeyId)).toEqual(['A1', 'A1']);
    expect(brokered.get()).toMatchObject({ accessKeyId: 'A1' });
    now += 3600_000 - 60_000;
    expect(await brokered.get()).toMatchObject({ accessKeyId: 'A2' });
    expect(fetched).toBe(2);
  });
});
