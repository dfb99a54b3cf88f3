import pg from 'pg';
import { DEFAULT_POLICY, startPgTestEnv } from '../../support/pg-gateway';
import { startTestGateway } from '../../support/gateway';
import { startTestIssuer } from '../../support/oidc-issuer';
import { modulesWithDriver, protocolConformance, type DriverOperation, type DriverSession } from '../../support/protocol-conformance';
import { PROTOCOL_MODULES } from '../../../gateway/src/protocols/registry';
import { startUpstream } from '../../support/upstreams';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startGitHttpBackend } from '../../support/git-http-backend';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSshTestEnv, ssh2Connect, ssh2Exec } from '../../support/ssh-gateway';
import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';

/**
 * Every registered protocol passes the same conformance suite (test/support/protocol-conformance.ts);
 * each gives a driver: start, open a session with a token, send one operation, read the native error.
 */

const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex');

const HTTP_POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource);

@id("no-deletes")
forbid (principal, action == Gatehouse::Action::"http:DELETE", resource);
`;

protocolConformance({
  name: 'http',
  native: { forbidden: '403', badToken: '401', tokenExpired: '401', policyFailed: '403', maskingFailed: '502', recordingFailed: '503' },
  async start(injection) {
    const issuer = await startTestIssuer();
    // The upstream answers `/answer/<hex>` with that text (so the text is in the answer, never in the request) and counts every request it receives.
    const upstream = await startUpstream((req, res) => {
      const m = /\/answer\/([0-9a-f]+)$/.exec(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(m ? Buffer.from(m[1]!, 'hex').toString('utf8') : 'fine');
    });
    const gw = await startTestGateway(
      () => ({
        // No clock skew: the suite's mid-session expiry waits for the exact `exp`.
        identity: { issuers: [{ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'], algorithms: ['RS256'], clockSkewSeconds: 0 }] },
        policy: { cedar: HTTP_POLICY },
        recording: { mode: 'strict' },
        connections: [{ name: 'echo', kind: 'http', upstream: upstream.url, route: { pathPrefix: '/echo' }, masking: injection.masking }],
      }),
      injection.startOptions('echo'),
    );
    const call = async (bearer: string, op: DriverOperation): Promise<string> => {
      const path = op.answer === undefined ? '/echo/items/1' : `/echo/answer/${hex(op.answer)}`;
      const res = await fetch(`${gw.url}${path}`, { method: op.kind === 'allowed' ? 'GET' : 'DELETE', headers: { authorization: `Bearer ${bearer}` } });
      await res.arrayBuffer();
      return res.status === 200 ? 'ok' : String(res.status);
    };
    return {
      gateway: gw.gateway,
      token: (ttlSeconds) => issuer.mintToken({ sub: 'ada', groups: ['developers'] }, ttlSeconds === undefined ? {} : { ttlSeconds }),
      // HTTP carries the token on every request: a session is the token its requests present.
      open: async (token) => ({ send: (op) => call(token, op), close: async () => undefined }),
      upstreamOperations: async () => upstream.received.length,
      stop: async () => {
        await gw.stop();
        await upstream.close();
        await issuer.close();
      },
    };
  },
});

protocolConformance({
  name: 'postgres',
  // In a session the token is the login's: at its expiry the gateway ends the connection (28000).
  native: { forbidden: '42501', badToken: '28P01', tokenExpired: '28000', policyFailed: '42501', maskingFailed: 'XX000', recordingFailed: '57P01' },
  async start(injection) {
    const env = await startPgTestEnv({ policy: DEFAULT_POLICY, recordingMode: 'strict', connection: { masking: injection.masking }, start: injection.startOptions('appdb') });
    // The upstream's own counter: every operation the drivers send draws from this sequence, so
    // PostgreSQL itself counts the operations it executed (nextval is never rolled back).
    await env.direct('create sequence conformance_ops; create table conformance_one (id int); insert into conformance_one values (1); grant usage, select on sequence conformance_ops to gh_app; grant all on conformance_one to gh_app');
    const sql = (op: DriverOperation): string =>
      op.kind === 'forbidden'
        ? "delete from conformance_one where nextval('conformance_ops') < 0"
        : `select nextval('conformance_ops') as n, convert_from(decode('${hex(op.answer ?? 'fine')}', 'hex'), 'utf8') as answer`;
    const codeOf = (e: unknown) => String((e as { code?: string }).code);
    return {
      gateway: env.gw.gateway,
      token: (ttlSeconds) => env.issuer.mintToken({ sub: 'ada', groups: ['developers'], email: 'ada@example.com' }, ttlSeconds === undefined ? {} : { ttlSeconds }),
      open: async (token) => {
        const client = new pg.Client(env.clientConfig(token));
        // The connection's end, when the gateway ends it (e.g. at the token's expiry): its native error.
        let ended: string | undefined;
        client.on('error', (e) => (ended ??= codeOf(e)));
        try {
          await client.connect();
        } catch (e) {
          return codeOf(e);
        }
        const session: DriverSession = {
          send: async (op) => {
            if (ended !== undefined) return ended;
            try {
              await client.query(sql(op));
              return 'ok';
            } catch (e) {
              return ended ?? codeOf(e);
            }
          },
          close: () => client.end().catch(() => undefined),
        };
        return session;
      },
      upstreamOperations: async () => {
        const r = await env.direct('select last_value, is_called from conformance_ops');
        return r.rows[0].is_called ? Number(r.rows[0].last_value) : 0;
      },
      stop: () => env.stop(),
    };
  },
});

const SSH_POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource);

@id("no-forbidden")
forbid (principal, action == Gatehouse::Action::"ssh:exec", resource) when { context.command like "*forbidden*" };
`;

protocolConformance({
  name: 'ssh',
  // Refusals are answered on the channel's stderr (`gatehouse: <code> (<decision>)`, exit 126). A
  // bad token is refused at key registration. At the key's expiry (the token's) the gateway ends
  // the connection: ssh2 cannot send a disconnect description, so the end itself is the answer.
  native: {
    forbidden: 'GH_ERR_POLICY_DENIED (policy.forbid)',
    badToken: 'GH_ERR_TOKEN_SIGNATURE',
    tokenExpired: 'connection closed',
    policyFailed: 'GH_ERR_POLICY_DENIED (policy.error)',
    maskingFailed: 'GH_ERR_MASKING_FAILED',
    recordingFailed: 'GH_ERR_RECORDING_FAILED',
  },
  async start(injection) {
    const env = await startSshTestEnv({ policy: SSH_POLICY, masking: injection.masking, start: injection.startOptions('box') });
    // The upstream's own count: every command the upstream sshd runs appends a line to this file.
    const counter = join(env.dir, 'upstream-ops');
    const octal = (text: string) => [...Buffer.from(text, 'utf8')].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('');
    const command = (op: DriverOperation): string =>
      op.kind === 'forbidden' ? `echo forbidden >> ${counter}` : `echo op >> ${counter}; printf '${op.answer === undefined ? 'fine' : octal(op.answer)}'`;
    return {
      gateway: env.gw.gateway,
      token: (ttlSeconds) => env.token({}, ttlSeconds),
      open: async (token) => {
        let key;
        try {
          key = await env.register(token);
        } catch (e) {
          return String((e as { code?: string }).code);
        }
        const client = await ssh2Connect(env, 'box', key.privateKey);
        let closed = false;
        client.on('close', () => (closed = true));
        client.on('error', () => undefined);
        const session: DriverSession = {
          send: async (op) => {
            if (closed) return 'connection closed';
            try {
              const r = await ssh2Exec(client, command(op));
              if (r.code === 0) return 'ok';
              // Whatever the refusal, the answer the gateway refused must not have reached the client.
              if (op.answer !== undefined && r.stdout.includes(op.answer)) return 'answer leaked to the client';
              const m = /gatehouse: (GH_ERR_[A-Z_]+(?: \([a-z_.]+\))?)/.exec(r.stderr);
              return m ? m[1]! : `exit ${r.code}: ${r.stderr}`;
            } catch (e) {
              return closed ? 'connection closed' : `error: ${(e as Error).message}`;
            }
          },
          close: async () => {
            client.end();
            if (!closed) await new Promise<void>((r) => client.once('close', () => r()));
          },
        };
        return session;
      },
      upstreamOperations: async () => {
        try {
          return readFileSync(counter, 'utf8').split('\n').filter(Boolean).length;
        } catch {
          return 0;
        }
      },
      stop: () => env.stop(),
    };
  },
});

const AWS_POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource);

@id("no-deletes")
forbid (principal, action == Gatehouse::Action::"aws:s3:DeleteObject", resource);
`;

protocolConformance({
  name: 'aws',
  // AWS APIs ride on the HTTP listener (the aws dialect on the HTTP exchange).
  module: 'http',
  // A session is a caller credential (gatehouse aws-credentials); it expires with the token it was
  // exchanged for (ExpiredToken, 403). A bad token is refused by the credential exchange (401).
  native: { forbidden: '403 AccessDenied', badToken: '401', tokenExpired: '403 ExpiredToken', policyFailed: '403 AccessDenied', maskingFailed: '502 InternalError', recordingFailed: '503 ServiceUnavailable' },
  async start(injection) {
    const issuer = await startTestIssuer();
    // Stands in for S3 behind the re-signing gateway: answers GetObject of `answer/<hex>` with that text, counts every request.
    const upstream = await startUpstream((req, res) => {
      // The SDK adds `?x-id=GetObject` to the path.
      const m = /\/answer\/([0-9a-f]+)(?:\?|$)/.exec(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/plain', 'x-amz-request-id': 'UP1' });
      res.end(m ? Buffer.from(m[1]!, 'hex').toString('utf8') : 'fine');
    });
    process.env.GH_CONFORMANCE_AWS_KEYRING = JSON.stringify({ current: 'k1', keys: { k1: randomBytes(32).toString('base64') } });
    process.env.GH_CONFORMANCE_AWS_ID = 'AKIABROKEREDEXAMPLE1';
    process.env.GH_CONFORMANCE_AWS_SECRET = 'brokered-secret-example';
    const gw = await startTestGateway(
      () => ({
        identity: { issuers: [{ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'], algorithms: ['RS256'], clockSkewSeconds: 0 }] },
        policy: { cedar: AWS_POLICY },
        recording: { mode: 'strict' },
        connections: [
          {
            name: 's3',
            kind: 'aws',
            service: 's3',
            region: 'eu-west-1',
            route: { pathPrefix: '/aws/s3' },
            endpoint: upstream.url,
            callerCredentials: { keys: 'env:GH_CONFORMANCE_AWS_KEYRING' },
            brokered: { source: 'static', accessKeyId: 'env:GH_CONFORMANCE_AWS_ID', secretAccessKey: 'env:GH_CONFORMANCE_AWS_SECRET' },
            masking: injection.masking,
          },
        ],
      }),
      injection.startOptions('s3'),
    );
    const native = (e: unknown): string => {
      const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
      return `${err.$metadata?.httpStatusCode ?? 0} ${err.name ?? 'Error'}`;
    };
    return {
      gateway: gw.gateway,
      token: (ttlSeconds) => issuer.mintToken({ sub: 'ada', groups: ['developers'] }, ttlSeconds === undefined ? {} : { ttlSeconds }),
      open: async (token) => {
        const res = await fetch(`${gw.url}/.well-known/gatehouse/aws-credentials?connection=s3`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
        const body = (await res.json()) as Record<string, string>;
        if (res.status !== 200) return String(res.status);
        const client = new S3Client({
          endpoint: `${gw.url}/aws/s3`,
          forcePathStyle: true,
          region: 'eu-west-1',
          credentials: { accessKeyId: body.AccessKeyId!, secretAccessKey: body.SecretAccessKey!, sessionToken: body.SessionToken! },
          maxAttempts: 1,
        });
        const session: DriverSession = {
          send: async (op) => {
            try {
              if (op.kind === 'forbidden') await client.send(new DeleteObjectCommand({ Bucket: 'bucket', Key: 'items/1' }));
              else {
                const got = await client.send(new GetObjectCommand({ Bucket: 'bucket', Key: op.answer === undefined ? 'items/1' : `answer/${hex(op.answer)}` }));
                await got.Body!.transformToString();
              }
              return 'ok';
            } catch (e) {
              return native(e);
            }
          },
          close: async () => client.destroy(),
        };
        return session;
      },
      upstreamOperations: async () => upstream.received.length,
      stop: async () => {
        await gw.stop();
        await upstream.close();
        await issuer.close();
      },
    };
  },
});

const GIT_POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource);

@id("no-forbidden-repo")
forbid (principal, action, resource) when { context has repository && context.repository == "team/forbidden" };
`;

protocolConformance({
  name: 'git',
  module: 'http',
  unmasked: 'git answers are packs and pkt-line streams: a git connection has no masking (packs are scanned for secrets on push instead)',
  // What the real git client prints: a refusal's reason ends with its [decision or code] (an ERR
  // packet: "remote error: ..."; a 401 or 503 body, which git shows before "Authentication failed"
  // or the status line).
  native: { forbidden: 'policy.forbid', badToken: 'GH_ERR_TOKEN_SIGNATURE', tokenExpired: 'GH_ERR_TOKEN_EXPIRED', policyFailed: 'policy.error', recordingFailed: 'GH_ERR_RECORDING_FAILED' },
  async start(injection) {
    const issuer = await startTestIssuer();
    const dir = mkdtempSync(join(tmpdir(), 'gh-git-conf-'));
    mkdirSync(join(dir, 'root', 'team'), { recursive: true });
    const gitEnv = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: dir, GIT_TERMINAL_PROMPT: '0' };
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', join(dir, 'root', 'team', 'app.git')], { env: gitEnv });
    // The upstream counts each ref advertisement it serves: one per allowed `git ls-remote` (protocol v0).
    const backend = await startGitHttpBackend({ root: join(dir, 'root') });
    const gw = await startTestGateway(
      () => ({
        identity: { issuers: [{ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'], algorithms: ['RS256'], clockSkewSeconds: 0 }] },
        policy: { cedar: GIT_POLICY },
        recording: { mode: 'strict' },
        connections: [{ name: 'code', kind: 'git', upstream: backend.url, dataDir: join(dir, 'data') }],
      }),
      injection.startOptions('code'),
    );
    const lsRemote = (token: string, repo: string): Promise<string> =>
      new Promise((resolve) => {
        const helper = `!f() { echo username=agent; echo password=${token}; }; f`;
        execFile('git', ['-c', 'credential.helper=', '-c', `credential.helper=${helper}`, '-c', 'protocol.version=0', 'ls-remote', `${gw.url}/git/code/${repo}.git`], { env: gitEnv, encoding: 'utf8' }, (err, _out, stderr) => {
          if (err === null) return resolve('ok');
          const tag = /\[([A-Za-z0-9_.]+)\]\s*$/m.exec(stderr);
          if (tag !== null) return resolve(tag[1]!);
          if (/Authentication failed/.test(stderr)) return resolve('authentication failed');
          const status = /returned error: (\d+)/.exec(stderr);
          resolve(status !== null ? `http ${status[1]}` : stderr.trim());
        });
      });
    return {
      gateway: gw.gateway,
      token: (ttlSeconds) => issuer.mintToken({ sub: 'ada', groups: ['developers'] }, ttlSeconds === undefined ? {} : { ttlSeconds }),
      // Git carries the token on every request (the credential helper's password): a session is its token.
      open: async (token) => ({ send: (op: DriverOperation) => lsRemote(token, op.kind === 'allowed' ? 'team/app' : 'team/forbidden'), close: async () => undefined }),
      upstreamOperations: async () => backend.received.filter((r) => r.method === 'GET' && r.url.includes('/info/refs')).length,
      stop: async () => {
        await gw.stop();
        await backend.close();
        await issuer.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});

// A protocol is done when the shared suite passes against it: a module in the registry without a
// driver here would be registered and never proven.
describe('protocol conformance: coverage', () => {
  it('every registered protocol module has a driver in this file', () => {
    const covered = modulesWithDriver();
    expect(PROTOCOL_MODULES.map((m) => m.name).filter((name) => !covered.has(name))).toEqual([]);
  });
});
