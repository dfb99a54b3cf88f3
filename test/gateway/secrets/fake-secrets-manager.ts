import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StoredSecret {
  readonly name: string;
  readonly arn: string;
  readonly string?: string;
  readonly binary?: Buffer;
  readonly versionId: string;
}

/**
 * A loopback stand-in for Secrets Manager's GetSecretValue (no emulator is available here): AWS
 * JSON 1.1 over `POST /` with `X-Amz-Target: secretsmanager.GetSecretValue`, a secret found by
 * name or ARN, errors as `{ "__type": ..., "Message": ... }` with status 400 as AWS sends them.
 */
export class FakeSecretsManager {
  readonly secrets: StoredSecret[] = [];
  readonly calls: Array<{ target: string; secretId: unknown; credentialScope?: string }> = [];
  /** Answer every call with this error. */
  failure?: { status: number; type: string };
  private server?: Server;

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  add(name: string, value: string | Buffer, region = 'eu-west-1'): StoredSecret {
    const secret: StoredSecret = {
      name,
      arn: `arn:aws:secretsmanager:${region}:123456789012:secret:${name}-AbCdEf`,
      ...(typeof value === 'string' ? { string: value } : { binary: value }),
      versionId: `v-${this.secrets.length + 1}`,
    };
    this.secrets.push(secret);
    return secret;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const target = String(req.headers['x-amz-target'] ?? '');
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
        // SigV4: `Credential=<key>/<date>/<region>/secretsmanager/aws4_request`.
        const scope = /Credential=[^/]+\/\d{8}\/([^,]+?)\/aws4_request/.exec(String(req.headers.authorization ?? ''))?.[1];
        this.calls.push({ target, secretId: body.SecretId, credentialScope: scope });
        const reply = (status: number, json: unknown) => {
          const text = JSON.stringify(json);
          res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'TEST', 'content-length': Buffer.byteLength(text) });
          res.end(text);
        };
        if (this.failure) return reply(this.failure.status, { __type: this.failure.type, Message: `${this.failure.type} (fake Secrets Manager)` });
        if (target !== 'secretsmanager.GetSecretValue') return reply(400, { __type: 'UnknownOperationException', Message: target });
        const s = this.secrets.find((x) => x.name === body.SecretId || x.arn === body.SecretId);
        if (!s) return reply(400, { __type: 'ResourceNotFoundException', Message: "Secrets Manager can't find the specified secret." });
        return reply(200, {
          ARN: s.arn,
          Name: s.name,
          VersionId: s.versionId,
          VersionStages: ['AWSCURRENT'],
          CreatedDate: 1767225600,
          ...(s.string !== undefined ? { SecretString: s.string } : { SecretBinary: s.binary!.toString('base64') }),
        });
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}
