import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32c } from '../../../../gateway/src/recording/signers/crc32c';
import { signPrehashedP256 } from './fake-kms';

const KEY = 'projects/gh-test-project/locations/europe-west1/keyRings/gatehouse/cryptoKeys/records';

/** The Cloud KMS permissions of the predefined roles that bear on these two methods (same page). */
export const ROLE_PERMISSIONS: Readonly<Record<string, readonly string[]>> = {
  'roles/cloudkms.signer': ['cloudkms.cryptoKeyVersions.useToSign'],
  'roles/cloudkms.publicKeyViewer': ['cloudkms.cryptoKeyVersions.viewPublicKey'],
  'roles/cloudkms.signerVerifier': ['cloudkms.cryptoKeyVersions.useToSign', 'cloudkms.cryptoKeyVersions.useToVerify', 'cloudkms.cryptoKeyVersions.viewPublicKey'],
  'roles/cloudkms.cryptoKeyEncrypterDecrypter': ['cloudkms.cryptoKeyVersions.useToEncrypt', 'cloudkms.cryptoKeyVersions.useToDecrypt'],
};
const GATEWAY_ROLES = ['roles/cloudkms.signer', 'roles/cloudkms.publicKeyViewer'];

/**
 * A loopback stand-in for the two Cloud KMS v1 REST methods the signer uses (no Cloud KMS emulator
 * runs here):
 * - getPublicKey, `GET /v1/{name}/publicKey` → `{pem, algorithm, pemCrc32c, name, protectionLevel}`
 *   (https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings.cryptoKeys.cryptoKeyVersions/getPublicKey,
 *   PublicKey: https://cloud.google.com/kms/docs/reference/rest/v1/PublicKey).
 * - asymmetricSign, `POST /v1/{name}:asymmetricSign` with `{digest: {sha256}, digestCrc32c}` →
 *   `{signature, signatureCrc32c, verifiedDigestCrc32c, name, protectionLevel}`
 *   (https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings.cryptoKeys.cryptoKeyVersions/asymmetricSign).
 *   A `digestCrc32c` that does not match the digest is refused with 400 INVALID_ARGUMENT; EC
 *   signatures are DER (https://cloud.google.com/kms/docs/create-validate-signatures).
 * int64 checksums travel as decimal strings (proto3 JSON). Errors are `{error: {code, message, status}}`
 * (https://cloud.google.com/apis/design/errors#http_mapping). Every call needs the expected bearer token.
 */
export class CloudKmsStandIn {
  readonly calls: Array<{ method: string; path: string; authorization: string | undefined; body?: Record<string, unknown> }> = [];
  readonly versions = new Map<string, { privateKey: KeyObject; publicKey: KeyObject; algorithm: string }>();
  expectedToken = 'gcp-test-token';
  /**
   * IAM on the key: the roles the principal behind each bearer token holds. Each method needs one
   * permission ("Cloud KMS permissions and roles", cloud.google.com/kms/docs/reference/permissions-and-roles):
   * getPublicKey `cloudkms.cryptoKeyVersions.viewPublicKey`, asymmetricSign
   * `cloudkms.cryptoKeyVersions.useToSign`; without it Cloud KMS answers 403 PERMISSION_DENIED.
   * A token listed here is accepted besides `expectedToken`, which holds what the GCP kit grants the
   * gateway (GatehouseKeys.addSigner: roles/cloudkms.signer and roles/cloudkms.publicKeyViewer).
   */
  readonly roles = new Map<string, readonly string[]>();
  failures = new Map<'publicKey' | 'sign', { status: number; status_: string }>();
  signWith?: KeyObject;
  /** Corrupt the answer's integrity fields, as transit corruption would. */
  corrupt: { signatureCrc32c?: boolean; verifiedDigestCrc32c?: boolean; pemCrc32c?: boolean; name?: string } = {};
  private server?: Server;

  constructor() {
    this.addVersion(1);
  }

  addVersion(v: number, algorithm = 'EC_SIGN_P256_SHA256'): void {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.versions.set(`${KEY}/cryptoKeyVersions/${v}`, { privateKey, publicKey, algorithm });
  }

  /** `gcp-kms:projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>/cryptoKeyVersions/<v>` */
  ref(v = 1): string {
    return `gcp-kms:${KEY}/cryptoKeyVersions/${v}`;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  private handle(req: IncomingMessage, res: ServerResponse, text: string): void {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    this.calls.push({ method: req.method ?? '', path, authorization: req.headers.authorization, ...(body ? { body } : {}) });
    const reply = (status: number, json: unknown) => {
      const out = JSON.stringify(json);
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    };
    const error = (code: number, status: string, message: string) => reply(code, { error: { code, message, status } });
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token === undefined || (token !== this.expectedToken && !this.roles.has(token))) return error(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    const m = /^\/v1\/(projects\/.+\/cryptoKeyVersions\/[0-9]+)(\/publicKey|:asymmetricSign)$/.exec(path);
    if (!m) return error(404, 'NOT_FOUND', 'unknown method');
    const [, name, method] = m;
    const op = method === '/publicKey' ? 'publicKey' : 'sign';
    const permission = op === 'publicKey' ? 'cloudkms.cryptoKeyVersions.viewPublicKey' : 'cloudkms.cryptoKeyVersions.useToSign';
    const held = (this.roles.get(token) ?? GATEWAY_ROLES).flatMap((r) => ROLE_PERMISSIONS[r] ?? []);
    if (!held.includes(permission)) return error(403, 'PERMISSION_DENIED', `Permission '${permission}' denied on resource '${name}' (or it may not exist).`);
    const failure = this.failures.get(op);
    if (failure) return error(failure.status, failure.status_, `${failure.status_} (stand-in)`);
    const version = this.versions.get(name!);
    if (!version) return error(404, 'NOT_FOUND', `CryptoKeyVersion ${name} not found.`);
    if (op === 'publicKey' && req.method === 'GET') {
      const pem = version.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const crc = crc32c(Buffer.from(pem, 'utf8'));
      return reply(200, { pem, algorithm: version.algorithm, pemCrc32c: String(this.corrupt.pemCrc32c ? crc ^ 1 : crc), name, protectionLevel: 'HSM' });
    }
    if (op === 'sign' && req.method === 'POST') {
      if (!version.algorithm.startsWith('EC_SIGN_')) return error(400, 'FAILED_PRECONDITION', 'Operation requires an asymmetric signing key.');
      const digestB64 = (body?.digest as { sha256?: unknown } | undefined)?.sha256;
      if (typeof digestB64 !== 'string') return error(400, 'INVALID_ARGUMENT', 'digest: the digest type must match the key algorithm (sha256).');
      const digest = Buffer.from(digestB64, 'base64');
      if (digest.length !== 32) return error(400, 'INVALID_ARGUMENT', 'digest.sha256: must be 32 bytes.');
      const sent = body?.digestCrc32c;
      if (sent !== undefined && Number(sent) !== crc32c(digest)) {
        return error(400, 'INVALID_ARGUMENT', 'The checksum in field digest_crc32c did not match the data in field digest.');
      }
      const signature = signPrehashedP256(this.signWith ?? version.privateKey, digest);
      const crc = crc32c(signature);
      return reply(200, {
        signature: signature.toString('base64'),
        signatureCrc32c: String(this.corrupt.signatureCrc32c ? crc ^ 1 : crc),
        verifiedDigestCrc32c: sent !== undefined && !this.corrupt.verifiedDigestCrc32c,
        name: this.corrupt.name ?? name,
        protectionLevel: 'HSM',
      });
    }
    return error(405, 'METHOD_NOT_ALLOWED', 'method not allowed');
  }
}

/**
 * A loopback stand-in for the GCE/Cloud Run metadata server that google-auth-library (through
 * gcp-metadata) reaches at `GCE_METADATA_HOST`: every request carries `Metadata-Flavor: Google`
 * and every answer does too (https://cloud.google.com/compute/docs/metadata/querying-metadata;
 * Cloud Run: https://cloud.google.com/run/docs/container-contract#metadata-server). The token is at
 * `/computeMetadata/v1/instance/service-accounts/default/token` → `{access_token, expires_in, token_type}`.
 */
export class MetadataServerStandIn {
  readonly tokenRequests: Array<{ scopes: string | null }> = [];
  constructor(readonly token: string) {}
  private server?: Server;

  get host(): string {
    return `127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const send = (status: number, type: string, out: string) => {
        res.writeHead(status, { 'content-type': type, 'metadata-flavor': 'Google' });
        res.end(out);
      };
      if (req.headers['metadata-flavor'] !== 'Google') return send(403, 'text/plain', 'Missing Metadata-Flavor:Google header.');
      if (url.pathname === '/computeMetadata/v1/instance/service-accounts/default/token') {
        this.tokenRequests.push({ scopes: url.searchParams.get('scopes') });
        return send(200, 'application/json', JSON.stringify({ access_token: this.token, expires_in: 3599, token_type: 'Bearer' }));
      }
      if (url.pathname === '/computeMetadata/v1/project/project-id') return send(200, 'application/text', 'gh-test-project');
      if (url.pathname === '/computeMetadata/v1/instance' || url.pathname === '/computeMetadata/v1/instance/') return send(200, 'application/text', '');
      return send(404, 'text/plain', 'not found');
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}
