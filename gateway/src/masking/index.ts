export type { Detection, Detector } from './detector';
export { createReplacement, DEFAULT_MASK, type Replacement, type ReplacementConfig } from './replacement';
export { addCounts, applySpans, findDetections, redactText, resolveOverlaps, type MaskCounts, type RedactionResult } from './redact';
export {
  createRedactingTransform,
  createStreamRedactor,
  longestMatch,
  RedactingTransform,
  type StreamRedactor,
  type StreamRedactorOptions,
} from './stream-redactor';
export {
  compileJsonPath,
  createJsonMasker,
  DEFAULT_PATH_TYPE,
  maskJson,
  type JsonMaskerOptions,
  type JsonMaskResult,
  type JsonPathRule,
} from './json-masker';
