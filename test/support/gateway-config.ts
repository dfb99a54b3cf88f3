import { parse } from 'yaml';
import { parseConfig } from '../../gateway/src/config/load';

/**
 * Checks a configuration document a kit emits with the gateway's own parser (schema and
 * cross-field rules), as far as it can be before deploy: deploy-time values (Terraform `${...}`
 * expressions, CloudFormation references) become placeholders of the right shape. Returns the
 * problems (empty when the gateway would accept the document) and the emitted sink.
 */
export function checkEmittedConfig(yamlText: string): { problems: string[]; sink: Record<string, unknown> } {
  const text = yamlText.replace(/\$\{[^}]+\}/g, 'tfvalue');
  const doc = parse(text) as { recording: { sink: Record<string, unknown> } };
  const sink = doc.recording.sink;
  // A placeholder where a URL is expected must still be a URL for the parser.
  const urlSafe = text.replace(/endpoint: tfvalue/g, 'endpoint: https://tfvalue.example/');
  const result = parseConfig(urlSafe);
  const problems = result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
  return { problems, sink };
}

/** Renders a CloudFormation value (`Fn::Join`, `Ref`, `Fn::GetAtt`, ...) with placeholders for what deploy resolves. */
export function renderCfnValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const [fn, args] = Object.entries(value as Record<string, unknown>)[0] ?? [];
    if (fn === 'Fn::Join' && Array.isArray(args)) return (args[1] as unknown[]).map(renderCfnValue).join(args[0] as string);
    if (fn === 'Ref' || fn === 'Fn::GetAtt' || fn === 'Fn::ImportValue' || fn === 'Fn::Select' || fn === 'Fn::Sub') return 'cfnvalue';
  }
  return 'cfnvalue';
}
