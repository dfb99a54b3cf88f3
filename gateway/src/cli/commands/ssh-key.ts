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
}

/** `host:port` (port default 2222); IPv6 in brackets. */
function parseEndpoint(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(text);
  const port = m?.[3] === undefined ? 2222 : Number(m[3]);
  if (m === null || port < 1 || port > 65535) throw new GatehouseError('GH_ERR_REQUEST_INVALID', `--ssh takes HOST[:PORT], not "${text}"`);
  return { host: (m[1] ?? m[2])!, port };
}

/**
 * `gatehouse ssh-key --ssh HOST[:PORT] --fingerprint SHA256:…`: makes a fresh ed25519 key pair,
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
    allowPositionals: false,
  });
  void positionals;
  const env = deps.env ?? process.env;
  if (values.ssh === undefined) throw new GatehouseError('GH_ERR_REQUEST_INVALID', '--ssh HOST[:PORT] is required: the gateway SSH listener');
  if (values.fingerprint === undefined || !/^SHA256:[A-Za-z0-9+/]{43}$/.test(values.fingerprint)) {
    throw new GatehouseError('GH_ERR_REQUEST_INVALID', '--fingerprint SHA256:… is required: the gateway host key fingerprint its operator publishes (logged at start as the ssh endpoint)');
  }
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(values.alias)) throw new GatehouseError('GH_ERR_REQUEST_INVALID', '--alias takes letters, digits, ".", "_" and "-"');
  const { host, port } = parseEndpoint(values.ssh);

  // The caller's token: a workload's platform token, or the cached login (refreshed when near expiry).
  let token = '';
  const capture: CommandIO = { out: (line) => (token = line.trim()), err: (line) => io.err(line) };
  const { tokenCommand } = await import('./token');
  const tokenArgs = values.ambient ? ['--ambient'] : values['token-env'] !== undefined ? ['--token-env', values['token-env']] : values['token-file'] !== undefined ? ['--token-file', values['token-file']] : values.gateway !== undefined ? [values.gateway] : [];
  const code = await tokenCommand(tokenArgs, capture, { env });
  if (code !== 0 || token === '') return code === 0 ? 1 : code;

  const { generateClientKeyPair, registerKey } = await import('../../protocols/ssh/registration');
  const keyPath = resolve(values.out ?? join(deps.home ?? homedir(), '.ssh', `${values.alias}_ed25519`));
  const pair = generateClientKeyPair(`gatehouse ssh-key ${new Date().toISOString()}`);
  const registration = await registerKey({ host, port, hostKeyFingerprint: values.fingerprint, token, publicKey: pair.public });

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
  io.out(`gateway host key: ${values.fingerprint}`);
  io.out(`ssh config: add "Include ${configPath}" to ~/.ssh/config, then: ssh CONNECTION@${values.alias}`);
  return 0;
}
