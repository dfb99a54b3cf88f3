import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GatehouseError } from '../../errors';
import type { CommandIO } from '../io';

export interface SshKeyDeps {
  readonly env?: NodeJS.ProcessEnv;
  /** Where the default key path lives. @default os.homedir() */
  readonly home?: string;
  /** Reads the gateway's /.well-known/gatehouse. @default global fetch */
  readonly fetch?: typeof fetch;
}

interface SshEndpoint {
  readonly host: string;
  readonly port: number;
  readonly fingerprint: string;
  /** The document says the listener offers the device sign-in (unknown without the document). */
  readonly deviceLogin?: boolean;
}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * Where the gateway's SSH listener is and which host key it must show: what `/.well-known/gatehouse`
 * publishes for its SSH connections (listeners.ssh.advertise, else the port bound; the host key
 * the gateway read), each part overridden by --ssh / --fingerprint. The document is trusted as far
 * as the channel it came over: a fingerprint read over plain http from anything but loopback could
 * have been swapped on the path, and the token would then go to whoever swapped it.
 */
async function resolveEndpoint(gateway: string, ssh: string | undefined, fingerprint: string | undefined, fetchImpl: typeof fetch | undefined): Promise<SshEndpoint> {
  const { fetchWellKnown } = await import('../login/gateway-document');
  const url = new URL(gateway);
  const hostName = url.hostname.replace(/^\[|\]$/g, '');
  if (fingerprint === undefined && url.protocol === 'http:' && !isLoopback(hostName)) {
    throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', `${gateway} is plain http: its published host key could be swapped on the way; use its https:// URL or give --fingerprint SHA256:…`);
  }
  const doc = await fetchWellKnown(gateway, fetchImpl);
  const published = doc.connections.find((c) => c.kind === 'ssh');
  if (published === undefined || published.kind !== 'ssh') {
    if (ssh !== undefined && fingerprint !== undefined) return { ...parseEndpoint(ssh), fingerprint };
    throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', `${gateway} publishes no SSH listener (no kind: ssh connection in /.well-known/gatehouse); give --ssh HOST[:PORT] and --fingerprint SHA256:…`);
  }
  if (!FINGERPRINT.test(published.hostKeyFingerprint)) throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', `${gateway} publishes an SSH host key fingerprint that is not SHA256:…`);
  const endpoint = ssh !== undefined ? parseEndpoint(ssh) : { host: (published.host ?? hostName).replace(/^\[|\]$/g, ''), port: published.port };
  return { ...endpoint, fingerprint: fingerprint ?? published.hostKeyFingerprint, deviceLogin: published.deviceLogin === true };
}

/** `host:port` (port default 2222); IPv6 in brackets. */
function parseEndpoint(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(text);
  const port = m?.[3] === undefined ? 2222 : Number(m[3]);
  if (m === null || port < 1 || port > 65535) throw new GatehouseError('GH_ERR_REQUEST_INVALID', `--ssh takes HOST[:PORT], not "${text}"`);
  return { host: (m[1] ?? m[2])!, port };
}

/**
 * `gatehouse ssh-key [GATEWAY]`: finds the gateway's SSH listener and host key in its
 * `/.well-known/gatehouse` (or takes them from `--ssh HOST[:PORT] --fingerprint SHA256:…`, which
 * override what is published), makes a fresh ed25519 key pair,
 * registers its public half with the gateway under the caller's OIDC token (over the SSH listener,
 * protocols/ssh/registration.ts), and writes the key, the gateway-signed certificate (when the
 * gateway issues them), a known_hosts file and an ssh config snippet. The key is good until the
 * token expires (or the gateway's key lifetime, if shorter); run it again for a new one.
 */
export async function sshKeyCommand(argv: string[], io: CommandIO, deps: SshKeyDeps = {}): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ssh: { type: 'string' },
      fingerprint: { type: 'string' },
      out: { type: 'string' },
      alias: { type: 'string', default: 'gatehouse' },
      gateway: { type: 'string' },
      'token-env': { type: 'string' },
      'token-file': { type: 'string' },
      ambient: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  const env = deps.env ?? process.env;
  if (positionals.length > 1) throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'give at most one gateway');
  if (positionals.length === 1 && values.gateway !== undefined && positionals[0] !== values.gateway) throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'the gateway is given twice (GATEWAY and --gateway)');
  const gatewayArg = positionals[0] ?? values.gateway;
  if (values.fingerprint !== undefined && !FINGERPRINT.test(values.fingerprint)) {
    throw new GatehouseError('GH_ERR_REQUEST_INVALID', '--fingerprint takes SHA256:… (the gateway host key fingerprint its operator publishes, logged at start as the ssh endpoint)');
  }
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(values.alias)) throw new GatehouseError('GH_ERR_REQUEST_INVALID', '--alias takes letters, digits, ".", "_" and "-"');
  let endpoint: SshEndpoint;
  if (values.ssh !== undefined && values.fingerprint !== undefined) endpoint = { ...parseEndpoint(values.ssh), fingerprint: values.fingerprint };
  else {
    const { normalizeGateway, readDefaultGateway } = await import('../login/token-cache');
    const gateway = gatewayArg !== undefined ? normalizeGateway(gatewayArg) : readDefaultGateway(env);
    if (!gateway) throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'name the gateway (gatehouse ssh-key https://gatehouse.example.com), log in to one first (gatehouse login), or give --ssh HOST[:PORT] and --fingerprint SHA256:…');
    endpoint = await resolveEndpoint(gateway, values.ssh, values.fingerprint, deps.fetch);
  }
  const { host, port, fingerprint: hostKeyFingerprint } = endpoint;

  // The caller's token: a workload's platform token, or the cached login (refreshed when near expiry).
  let token = '';
  const capture: CommandIO = { out: (line) => (token = line.trim()), err: (line) => io.err(line) };
  const { tokenCommand } = await import('./token');
  const tokenArgs = values.ambient ? ['--ambient'] : values['token-env'] !== undefined ? ['--token-env', values['token-env']] : values['token-file'] !== undefined ? ['--token-file', values['token-file']] : gatewayArg !== undefined ? [gatewayArg] : [];
  const code = await tokenCommand(tokenArgs, capture, { env });
  if (code !== 0 || token === '') return code === 0 ? 1 : code;

  const { generateClientKeyPair, registerKey } = await import('../../protocols/ssh/registration');
  const keyPath = resolve(values.out ?? join(deps.home ?? homedir(), '.ssh', `${values.alias}_ed25519`));
  const pair = generateClientKeyPair(`gatehouse ssh-key ${new Date().toISOString()}`);
  const registration = await registerKey({ host, port, hostKeyFingerprint, token, publicKey: pair.public });

  mkdirSync(dirname(keyPath), { recursive: true, mode: 0o700 });
  writeFileSync(keyPath, pair.private, { mode: 0o600 });
  chmodSync(keyPath, 0o600);
  writeFileSync(`${keyPath}.pub`, `${pair.public}\n`, { mode: 0o644 });
  if (registration.certificate !== undefined) writeFileSync(`${keyPath}-cert.pub`, `${registration.certificate}\n`, { mode: 0o644 });
  const knownHosts = `${keyPath}.known_hosts`;
  writeFileSync(knownHosts, `${port === 22 ? host : `[${host}]:${port}`} ${registration.hostKey}\n`, { mode: 0o644 });
  const configPath = `${keyPath}.ssh_config`;
  writeFileSync(
    configPath,
    [
      `# Written by gatehouse ssh-key: reach a connection NAME with \`ssh NAME@${values.alias}\` (or -l USER@NAME).`,
      `Host ${values.alias}`,
      `  HostName ${host}`,
      `  Port ${port}`,
      `  IdentityFile ${keyPath}`,
      ...(registration.certificate !== undefined ? [`  CertificateFile ${keyPath}-cert.pub`] : []),
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${knownHosts}`,
      '  StrictHostKeyChecking yes',
      '  ForwardAgent no',
      '',
    ].join('\n'),
  );
  io.out(`registered ${registration.fingerprint} for ${registration.subject} until ${registration.expiresAt}`);
  io.out(`key: ${keyPath}${registration.certificate !== undefined ? ` (certificate ${keyPath}-cert.pub)` : ' (no certificate: the gateway has no user CA; the key works on the replica that registered it)'}`);
  io.out(`gateway host key: ${hostKeyFingerprint} (${host}:${port})`);
  io.out(`ssh config: add "Include ${configPath}" to ~/.ssh/config, then: ssh CONNECTION@${values.alias}`);
  if (endpoint.deviceLogin === true) io.out(`without a key: ssh -p ${port} CONNECTION@${host} signs in with a device code at the prompt (keyboard-interactive)`);
  return 0;
}
