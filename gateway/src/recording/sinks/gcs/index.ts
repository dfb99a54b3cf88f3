export { GcsLogSink } from './gcs-sink';
export type { GcsLogSinkOptions } from './gcs-sink';
export { classifyGcsError } from './gcs-errors';
