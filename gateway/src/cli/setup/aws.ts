import { homedir } from 'node:os';
import { join } from 'node:path';
import { readIfExists, type FileChange } from './file-change';
import { upsertIniSection } from './ini-section';

/**
 * An AWS CLI / SDK profile whose credentials come from the gateway (`credential_process`: the
 * CLI and the SDKs run it and cache its answer until `Expiration`) and whose requests go to the
 * gateway (`endpoint_url`), which verifies the gateway-issued signature and re-signs upstream.
 */
export function awsConfigPath(env: NodeJS.ProcessEnv): string {
  return env.AWS_CONFIG_FILE || join(env.HOME || homedir(), '.aws', 'config');
}

export interface AwsProfileOptions {
  readonly profile: string;
  readonly credentialProcess: string;
  readonly endpointUrl: string;
  readonly region?: string;
}

export function planAwsProfile(path: string, options: AwsProfileOptions): FileChange {
  const before = readIfExists(path);
  // The config file names every profile but the default `[profile NAME]`.
  const section = options.profile === 'default' ? 'default' : `profile ${options.profile}`;
  const set: [string, string][] = [
    ['credential_process', options.credentialProcess],
    ['endpoint_url', options.endpointUrl],
  ];
  if (options.region) set.push(['region', options.region]);
  return { path, before, after: upsertIniSection(before, { section, set, separator: ' = ' }) };
}
