export { createPolicyEngine, checkPolicies, DECISION_CODES } from './engine';
export type { CedarPolicyEngine, PolicyEngineOptions, PolicyLogger } from './engine';
export { formatPolicyProblems } from './policy-set';
export type { LoadedPolicy, PolicyProblem, PolicySource } from './policy-set';
export { DEFAULT_ACTION_GROUPS, ENTITY_TYPES } from './entities';
export { DEFAULT_POLICIES } from './default-policies';
export type { Decision, Effect, Operation } from './decision';
export { readPolicySources } from './sources';
