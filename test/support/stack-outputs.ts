import { STACK_OUTPUTS, cfnOutputId, terraformOutputName, type OutputCloud, type StackOutput } from '../../constructs/core/stack-outputs';

/**
 * The outputs a synthesized reference stack may have, per the table in
 * constructs/core/stack-outputs.ts: each concept the table gives the cloud, spelled the cloud's way
 * (CloudFormation for AWS, Terraform otherwise), a per-name one once per given name.
 */
export function outputsAllowed(cloud: OutputCloud, names: readonly string[]): Map<string, StackOutput> {
  const spell = cloud === 'aws' ? cfnOutputId : terraformOutputName;
  const allowed = new Map<string, StackOutput>();
  for (const [concept, { on }] of Object.entries(STACK_OUTPUTS) as [StackOutput, { on: Partial<Record<OutputCloud, string>> }][]) {
    const shape = on[cloud];
    if (shape === 'single') allowed.set(spell(concept), concept);
    if (shape === 'perName') for (const n of names) allowed.set(spell(concept, n), concept);
  }
  return allowed;
}

/** Output names of a synthesized stack the table does not derive for that cloud (expect `[]`). */
export function outputsNotInTable(cloud: OutputCloud, outputs: readonly string[], names: readonly string[]): string[] {
  const allowed = outputsAllowed(cloud, names);
  return outputs.filter((o) => !allowed.has(o));
}
