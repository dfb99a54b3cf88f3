import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { derToP1363 } from '../../../../gateway/src/recording/signers/ecdsa-der';
import { signPrehashedP256 } from './fake-kms';

/**
 * A loopback stand-in for the two Azure Key Vault key operations the signer uses (no Key Vault
 * emulator runs here), implementing their REST contract, API version 7.4:
 * - Get Key, `GET /keys/{name}[/{version}]?api-version=7.4` → KeyBundle `{key: JsonWebKey, attributes}`;
 *   without a version, the current one (https://learn.microsoft.com/en-us/rest/api/keyvault/keys/get-key/get-key).
 * - Sign, `POST /keys/{name}/{version}/sign?api-version=7.4` with `{alg, value}` (value: base64url of
 *   the digest) → KeyOperationResult `{kid, value}` (https://learn.microsoft.com/en-us/rest/api/keyvault/keys/sign/sign).
 *   ES256 signs a 32-byte SHA-256 digest with a P-256 key and answers in the JWS form, r||s of 64
 *   bytes (RFC 7518 §3.4; https://learn.microsoft.com/en-us/azure/key-vault/keys/about-keys-details#signverify).
 * Errors are `{error: {code, message}}` (https://learn.microsoft.com/en-us/rest/api/keyvault/keys/get-key/get-key#keyvaulterror).
 * Every call needs `Authorization: Bearer <token>` with the token the test expects.
 * `kid`s name the real vault URL (what the service returns), whatever address served them.
 */
/**
 * Key data actions of the built-in roles the kit assigns ("Azure built-in roles for Security",
 * learn.microsoft.com/azure/role-based-access-control/built-in-roles/security).
 */
export const BUILT_IN_KEY_ROLES: Readonly<Record<string, readonly string[]>> = {
  'Key Vault Crypto User': [
    'Microsoft.KeyVault/vaults/keys/read', 'Microsoft.KeyVault/vaults/keys/update/action', 'Microsoft.KeyVault/vaults/keys/backup/action',
    'Microsoft.KeyVault/vaults/keys/encrypt/action', 'Microsoft.KeyVault/vaults/keys/decrypt/action', 'Microsoft.KeyVault/vaults/keys/wrap/action',
    'Microsoft.KeyVault/vaults/keys/unwrap/action', 'Microsoft.KeyVault/vaults/keys/sign/action', 'Microsoft.KeyVault/vaults/keys/verify/action',
  ],
  'Key Vault Crypto Service Encryption User': ['Microsoft.KeyVault/vaults/keys/read', 'Microsoft.KeyVault/vaults/keys/wrap/action', 'Microsoft.KeyVault/vaults/keys/unwrap/action'],
};

export class KeyVaultStandIn {
  readonly vaultUrl = 'https://gh-test-kv.vault.azure.net';
  readonly keyName = 'gatehouse-signing';
  readonly calls: Array<{ method: string; path: string; apiVersion: string | null; authorization: string | undefined; body?: Record<string, unknown> }> = [];
  /** Versions of the key, oldest first; the last is current. */
  readonly versions: Array<{ version: string; privateKey: KeyObject; publicKey: KeyObject; enabled: boolean }> = [];
  /** The bearer token accepted. */
  expectedToken = 'kv-test-token';
  /**
   * Azure RBAC on the key: the data actions the principal behind each bearer token holds. Get Key
   * needs `Microsoft.KeyVault/vaults/keys/read`, Sign `.../keys/sign/action`; without it Key Vault
   * answers 403 Forbidden, inner code ForbiddenByRbac ("Azure RBAC for Key Vault data plane
   * operations", learn.microsoft.com/azure/key-vault/general/rbac-guide). A token listed here is
   * accepted besides `expectedToken`, which holds what the Azure kit gives the gateway: the built-in
   * Key Vault Crypto User (BUILT_IN_KEY_ROLES).
   */
  readonly dataActions = new Map<string, readonly string[]>();
  /** Answer every call of this operation with an error. */
  failures = new Map<'get' | 'sign', { status: number; code: string }>();
  /** Sign with this key instead (a signature that does not match the version's public key). */
  signWith?: KeyObject;
  /** Overrides for the JsonWebKey answered by Get Key (another curve, key type). */
  jwkOverrides: Record<string, unknown> = {};
  private server?: Server;

  constructor() {
    this.rotate();
  }

  /** Adds a new current version (Key Vault's rotate creates a new version with new key material). */
  rotate(): string {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const version = randomBytes(16).toString('hex');
    this.versions.push({ version, privateKey, publicKey, enabled: true });
    return version;
  }

  get current(): string {
    return this.versions[this.versions.length - 1]!.version;
  }

  /** `azure-kv-key:https://<vault>.vault.azure.net/keys/<name>[/<version>]` */
  ref(version?: string): string {
    return `azure-kv-key:${this.vaultUrl}/keys/${this.keyName}${version !== undefined ? `/${version}` : ''}`;
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
    const url = new URL(req.url ?? '/', 'http://x');
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    this.calls.push({ method: req.method ?? '', path: url.pathname, apiVersion: url.searchParams.get('api-version'), authorization: req.headers.authorization, ...(body ? { body } : {}) });
    const reply = (status: number, json: unknown) => {
      const out = JSON.stringify(json);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    };
    const error = (status: number, code: string, message: string) => reply(status, { error: { code, message } });
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token === undefined || (token !== this.expectedToken && !this.dataActions.has(token))) return error(401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.');
    if (url.searchParams.get('api-version') !== '7.4') return error(400, 'BadParameter', 'The specified version of the API is not supported.');
    const m = /^\/keys\/([A-Za-z0-9-]+)(?:\/([0-9a-f]{32}))?(\/sign)?$/.exec(url.pathname);
    if (!m) return error(404, 'NotFound', 'unknown path');
    const [, name, version, sign] = m;
    const op = sign ? 'sign' : 'get';
    const action = sign ? 'Microsoft.KeyVault/vaults/keys/sign/action' : 'Microsoft.KeyVault/vaults/keys/read';
    if (!(this.dataActions.get(token) ?? BUILT_IN_KEY_ROLES['Key Vault Crypto User']!).includes(action)) {
      return reply(403, { error: { code: 'Forbidden', message: `Caller is not authorized to perform action on resource. Action: '${action}'`, innererror: { code: 'ForbiddenByRbac' } } });
    }
    const failure = this.failures.get(op);
    if (failure) return error(failure.status, failure.code, `${failure.code} (stand-in)`);
    const entry = name === this.keyName ? (version === undefined ? this.versions[this.versions.length - 1] : this.versions.find((v) => v.version === version)) : undefined;
    if (!entry) return error(404, 'KeyNotFound', `A key with (name/id) ${name}/${version ?? ''} was not found in this key vault.`);
    const kid = `${this.vaultUrl}/keys/${name}/${entry.version}`;
    if (!sign && req.method === 'GET') {
      const jwk = entry.publicKey.export({ format: 'jwk' });
      return reply(200, {
        key: { kid, kty: 'EC', key_ops: ['sign', 'verify'], crv: 'P-256', x: jwk.x, y: jwk.y, ...this.jwkOverrides },
        attributes: { enabled: entry.enabled, created: 1764979200, updated: 1764979200, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90, exportable: false },
      });
    }
    if (sign && req.method === 'POST' && version !== undefined) {
      if (body?.alg !== 'ES256') return error(400, 'BadParameter', 'Invalid algorithm for this key.');
      const digest = Buffer.from(String(body.value ?? ''), 'base64url');
      if (digest.length !== 32) return error(400, 'BadParameter', 'Invalid digest length for ES256.');
      const der = signPrehashedP256(this.signWith ?? entry.privateKey, digest);
      return reply(200, { kid, value: derToP1363(der).toString('base64url') });
    }
    return error(405, 'MethodNotAllowed', 'method not allowed');
  }
}

/**
 * A loopback stand-in for the managed identity endpoint of Azure App Service and Container Apps
 * (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, API version 2019-08-01:
 * https://learn.microsoft.com/en-us/azure/app-service/overview-managed-identity#rest-endpoint-reference):
 * `GET ?api-version=2019-08-01&resource=…` with header `X-IDENTITY-HEADER` → `{access_token, expires_on, resource, token_type}`.
 */
export class ManagedIdentityStandIn {
  readonly header = randomBytes(8).toString('hex');
  readonly requests: Array<{ resource: string | null; identityHeader: string | undefined }> = [];
  constructor(readonly token: string) {}
  private server?: Server;

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/msi/token`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const identityHeader = req.headers['x-identity-header'] as string | undefined;
      this.requests.push({ resource: url.searchParams.get('resource'), identityHeader });
      if (identityHeader !== this.header || url.searchParams.get('api-version') !== '2019-08-01') {
        res.writeHead(400, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ statusCode: 400, message: 'bad request' }));
      }
      const out = JSON.stringify({ access_token: this.token, expires_on: String(Math.floor(Date.now() / 1000) + 3600), resource: url.searchParams.get('resource'), token_type: 'Bearer' });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(out);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}
