import type { SshConnectionConfig, SshListenerConfig } from '../../config/schema';
import { prepareMasking } from '../../masking/masking-policy';
import type { ProtocolModule } from '../kit/module';
import { DeviceLogin } from './device-login';
import { SshKeyRegistry } from './key-registry';
import { SshGateway } from './server';
import type { TerminalMasking } from './terminal-recorder';
import { UserCertificateAuthority } from './user-certificate';

interface SshSection {
  readonly listener: SshListenerConfig;
  readonly connections: readonly SshConnectionConfig[];
}

/**
 * SSH (docs/ssh.md): started when `listeners.ssh` is configured. The endpoint names the host key's
 * fingerprint, so the start-up log says what clients must pin.
 */
export const sshModule: ProtocolModule<SshSection, SshGateway> = {
  name: 'ssh',
  configure: (config) =>
    config.listeners.ssh === undefined ? undefined : { listener: config.listeners.ssh, connections: config.connections.filter((c): c is SshConnectionConfig => c.kind === 'ssh') },
  async start(section, { config, pipeline, secrets, logger, extraMaskingDetectors, wellKnown }) {
    // Masking is compiled and its secrets read here, so a bad rule or secret stops start-up.
    const masking = new Map<string, TerminalMasking>();
    for (const c of section.connections) {
      const prepared = prepareMasking(c.masking ?? config.masking, { connection: c.name, extraDetectors: extraMaskingDetectors?.[c.name] });
      if (prepared !== undefined) masking.set(c.name, await prepared.resolve(secrets));
    }
    const { listener } = section;
    const userCa = listener.userCaKey === undefined ? undefined : new UserCertificateAuthority(await secrets.get(listener.userCaKey));
    // The issuer is discovered at the first sign-in (and again after a failure), so an issuer down
    // at start does not stop the listener; the client secret is read now, so a missing one does.
    const device = listener.deviceLogin;
    const deviceIssuer = device === undefined ? undefined : config.identity.issuers.find((i) => i.name === device.issuer);
    const deviceLogin =
      device === undefined || deviceIssuer === undefined
        ? undefined
        : new DeviceLogin({
            issuer: deviceIssuer.issuer,
            clientId: device.clientId,
            ...(device.clientSecret !== undefined && { clientSecret: (await secrets.get(device.clientSecret)).trim() }),
            scopes: device.scopes,
            timeoutMs: device.timeoutSeconds * 1000,
          });
    const gateway = new SshGateway({
      pipeline,
      hostKey: listener.hostKey,
      keys: new SshKeyRegistry(),
      userCa,
      keyTtlMs: listener.keyTtlMinutes * 60_000,
      deviceLogin,
      ...(device !== undefined && { deviceLimits: { maxPending: device.maxPending, maxPendingPerAddress: device.maxPendingPerAddress } }),
      connections: section.connections,
      masking: (c) => masking.get(c.name),
      bodyCapBytes: config.recording.bodyCapBytes,
      logger,
    });
    const bound = await gateway.listen(listener.port, listener.address);
    // What clients connect to and pin: the port bound and the host key read from the secret store.
    wellKnown.bind({ ssh: { port: bound.port, hostKey: gateway.hostPublicKey, hostKeyFingerprint: gateway.hostKeyFingerprint } });
    return {
      handle: gateway,
      endpoint: `ssh://${bound.address}:${bound.port} (host key ${gateway.hostKeyFingerprint})`,
      metrics: () => ({ connections: gateway.connectionCount }),
      close: (graceMs) => gateway.close(graceMs),
    };
  },
};
