import type { Detector } from '../detector';
import { GatehouseError } from '../../errors';
import { anthropicApiKey } from './anthropic-api-key';
import { awsAccessKeyId } from './aws-access-key-id';
import { awsSecretAccessKey } from './aws-secret-access-key';
import { azureStorageConnectionString } from './azure-storage-connection-string';
import { databaseUrl } from './database-url';
import { email } from './email';
import { genericAssignment } from './generic-assignment';
import { githubToken } from './github-token';
import { gitlabToken } from './gitlab-token';
import { googleApiKey } from './google-api-key';
import { googleServiceAccountKey } from './google-service-account-key';
import { huggingfaceToken } from './huggingface-token';
import { iban } from './iban';
import { ipv4Address } from './ipv4-address';
import { ipv6Address } from './ipv6-address';
import { jwt } from './jwt';
import { npmToken } from './npm-token';
import { openaiApiKey } from './openai-api-key';
import { paymentCard } from './payment-card';
import { pemPrivateKey } from './pem-private-key';
import { phone } from './phone';
import { pypiToken } from './pypi-token';
import { slackToken } from './slack-token';
import { slackWebhook } from './slack-webhook';
import { stripeKey } from './stripe-key';
import { usSsn } from './us-ssn';

export {
  anthropicApiKey, awsAccessKeyId, awsSecretAccessKey, azureStorageConnectionString, databaseUrl, email, genericAssignment,
  githubToken, gitlabToken, googleApiKey, googleServiceAccountKey, huggingfaceToken, iban, ipv4Address, ipv6Address, jwt,
  npmToken, openaiApiKey, paymentCard, pemPrivateKey, phone, pypiToken, slackToken, slackWebhook, stripeKey, usSsn,
};
export { patternDetector, type PatternRule } from './pattern';

/** Built-in secret detectors, most specific first (generic assignments last). */
export const SECRET_DETECTORS: readonly Detector[] = Object.freeze([
  awsAccessKeyId, awsSecretAccessKey, githubToken, gitlabToken, slackToken, stripeKey,
  googleServiceAccountKey, azureStorageConnectionString, pemPrivateKey, jwt, databaseUrl,
  anthropicApiKey, openaiApiKey, googleApiKey, slackWebhook, npmToken, pypiToken, huggingfaceToken, genericAssignment,
]);

/** Built-in personal-data detectors. */
export const PII_DETECTORS: readonly Detector[] = Object.freeze([
  email, phone, paymentCard, iban, usSsn, ipv4Address, ipv6Address,
]);

export interface BuiltInDetectorOptions {
  /** Families to include. @default both `secret` and `pii` */
  readonly families?: readonly ('secret' | 'pii')[];
  /** Only these rule ids (applied after `families`). @default every rule of the selected families */
  readonly include?: readonly string[];
  /** Rule ids to leave out. @default none */
  readonly exclude?: readonly string[];
}

/**
 * The built-in detectors selected for one connection. Unknown ids in `include`/`exclude` are an
 * error: a typo must not silently turn masking off.
 */
export function builtInDetectors(options: BuiltInDetectorOptions = {}): Detector[] {
  const all = [...SECRET_DETECTORS, ...PII_DETECTORS];
  const known = new Set(all.map((d) => d.id));
  const unknown = [...(options.include ?? []), ...(options.exclude ?? [])].filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', `unknown masking rule id(s): ${unknown.join(', ')}`, {
      details: { unknown },
    });
  }
  const families = new Set(options.families ?? ['secret', 'pii']);
  const include = options.include ? new Set(options.include) : undefined;
  const exclude = new Set(options.exclude ?? []);
  return all.filter((d) => families.has(d.family) && (!include || include.has(d.id)) && !exclude.has(d.id));
}
