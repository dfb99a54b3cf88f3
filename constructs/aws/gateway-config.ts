import { stringify } from 'yaml';

/**
 * The gateway configuration document as the constructs assemble it: the same shape as
 * `gateway/src/config/schema.ts`, with CDK tokens in place of values known only at deploy time.
 * Kept loose on purpose: the gateway validates the document at start and refuses a bad one.
 */
export type GatewayConfigDocument = { readonly [key: string]: unknown };

/**
 * Renders the document as YAML. Tokens are opaque strings here and CloudFormation substitutes
 * them; line folding is off so a token is never split across lines.
 */
export function renderGatewayConfig(doc: GatewayConfigDocument): string {
  return stringify(doc, { lineWidth: 0, minContentWidth: 0 });
}
