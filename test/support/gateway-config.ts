import { parse } from 'yaml';
import { configSchema } from '../../gateway/src/config/schema';

/**
 * Checks a configuration document a kit emits against the gateway's own schema, as far as it can be
 * before deploy: Terraform expressions (`${...}`) become placeholder names, and the cloud sink
 * (whose type the schema does not know yet) is set aside and returned for its own assertions.
 * Returns the schema's problems (empty when the gateway would accept the document).
 */
export function checkEmittedConfig(yamlText: string): { problems: string[]; sink: Record<string, unknown> } {
  const doc = parse(yamlText.replace(/\$\{[^}]+\}/g, 'tfvalue')) as { recording: { sink: Record<string, unknown> } };
  const sink = doc.recording.sink;
  const result = configSchema.safeParse({ ...doc, recording: { ...doc.recording, sink: { type: 'fs', path: '/tmp/unused' } } });
  const problems = result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  return { problems, sink };
}
