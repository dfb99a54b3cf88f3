// Shared by the CDKTF tests: registers the cdktf jest matchers (toHaveResource,
// toHaveResourceWithProperties, ...) and small readers of synthesized JSON.
import 'cdktf/lib/testing/adapters/jest';
import { Testing, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';

Testing.setupJest();

export { Testing };

/** Synthesizes what `build` adds to a fresh stack and returns the JSON text (for the matchers). */
export function synth(build: (scope: Construct) => void): string {
  return Testing.synthScope(build);
}

/** Every resource of `type` in synthesized JSON, by logical id. */
export function resources(json: string, type: string): Record<string, any> {
  return (JSON.parse(json).resource?.[type] ?? {}) as Record<string, any>;
}

/** The only resource of `type`; fails if there is not exactly one. */
export function onlyResource(json: string, type: string): any {
  const all = Object.values(resources(json, type));
  if (all.length !== 1) throw new Error(`expected exactly one ${type}, found ${all.length}`);
  return all[0];
}

/** A stack whose node.validate() findings can be read (construct validations run on synth). */
export function validationErrors(build: (scope: Construct) => void): string[] {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  build(stack);
  return stack.node.findAll().flatMap((c) => c.node.validate());
}
