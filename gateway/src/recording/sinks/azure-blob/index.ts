export { AzureBlobLogSink } from './azure-blob-sink';
export type { AzureBlobLogSinkOptions } from './azure-blob-sink';
export { azureDefaultCredential } from './azure-credential';
export { classifyAzureError } from './azure-errors';
