import { parseConfig } from '../gateway/src/config/load';

/**
 * Checks a configuration document a kit hands the gateway with the gateway's own parser (schema
 * and cross-field rules) at synth, as the gateway will at its first start: a document it refuses
 * would deploy, then keep every replica from ever becoming ready. Values known only at deploy time
 * are CDKTF or AWS CDK tokens in the rendered YAML (`${TfToken[TOKEN.12]}`, `${Token[TOKEN.34]}`):
 * each becomes a placeholder, a URL where the document expects one.
 *
 * Shared by the reference stacks (it loads the gateway's code, which the
 * construct packages never do).
 * @returns one line per problem, `<path>: <message>`; none when the gateway would accept it
 */
export function emittedConfigProblems(yaml: string): string[] {
  const text = yaml.replace(/\$\{(?:Tf)?Token\[[^\]]+\]\}/g, 'tfvalue').replace(/endpoint: tfvalue\b/g, 'endpoint: https://tfvalue.example/');
  const result = parseConfig(text);
  return result.ok ? [] : result.problems.map((p) => `${p.path || '(root)'}: ${p.message}`);
}
