import { Token } from 'aws-cdk-lib';

/**
 * The Secrets Manager secret ARN an `aws-sm:<ARN>[#field]` reference names (a token, such as
 * `aws-sm:${secret.secretArn}`, counts as an ARN), or undefined for any other reference. A
 * reference by name is left out: its ARN ends in a suffix Secrets Manager chose, and granting
 * `name-??????` would reach any secret created under that name later.
 */
export function secretsManagerArnOf(reference: string): string | undefined {
  if (!reference.startsWith('aws-sm:')) return undefined;
  const id = reference.slice('aws-sm:'.length).split('#')[0]!;
  return Token.isUnresolved(id) || /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[^*?]+$/.test(id) ? id : undefined;
}
