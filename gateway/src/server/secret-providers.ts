import type { GatehouseConfig } from '../config/schema';
import type { Logger } from '../observability/logger';
import { createSecretProvider, type SecretStore } from '../secrets';
import type { SchemeProvider } from '../secrets/scheme-provider';

/**
 * The secret store with a provider for every cloud scheme the configuration references. A cloud
 * provider is constructed only when some reference uses its scheme (the SDKs stay unloaded
 * otherwise); `env:` and `file:` are always available.
 */
export async function createConfiguredSecrets(config: GatehouseConfig, logger?: Logger): Promise<{ secrets: SecretStore; close(): Promise<void> }> {
  const schemes = referencedSchemes(config);
  const providers: Record<string, SchemeProvider> = {};
  const closers: (() => unknown)[] = [];
  if (schemes.has('aws-sm')) {
    const { awsSecretsManagerSchemeProvider } = await import('../secrets/aws-secrets-manager');
    const region = config.recording.sink.type === 's3' ? config.recording.sink.region : process.env.AWS_REGION;
    const p = awsSecretsManagerSchemeProvider({ region });
    providers['aws-sm'] = p;
    closers.push(() => p.close());
  }
  if (schemes.has('azure-kv')) {
    const { azureKeyVaultSchemeProvider } = await import('../secrets/azure-key-vault');
    const { azureDefaultCredential } = await import('../recording/sinks/azure-blob/azure-credential');
    providers['azure-kv'] = azureKeyVaultSchemeProvider({ credential: azureDefaultCredential() });
  }
  if (schemes.has('gcp-sm')) {
    const { gcpSecretManagerSchemeProvider } = await import('../secrets/gcp-secret-manager');
    providers['gcp-sm'] = gcpSecretManagerSchemeProvider();
  }
  const secrets = createSecretProvider({ mode: config.mode, providers, logger });
  return {
    secrets,
    close: async () => {
      await Promise.allSettled(closers.map((c) => c()));
    },
  };
}

const REF = /^([a-z][a-z0-9-]*):/;

/** Every scheme used by a secret reference anywhere in the configuration. */
export function referencedSchemes(config: GatehouseConfig): Set<string> {
  const found = new Set<string>();
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      const m = REF.exec(v);
      if (m && !/^(https?|postgres(ql)?|urn|memory)$/.test(m[1]!)) found.add(m[1]!);
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit(config);
  return found;
}
