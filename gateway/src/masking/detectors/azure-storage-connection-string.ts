import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/**
 * Azure storage connection strings: the 64-byte `AccountKey` (88 base64 characters). The rest
 * of the string (account name, endpoints) is not secret and stays readable.
 */
export const azureStorageConnectionString: Detector = patternDetector({
  id: 'azure-storage-connection-string',
  type: 'azure_storage_key',
  family: 'secret',
  maxLength: 100,
  pattern: /AccountKey=([A-Za-z0-9+/]{86}==)(?![A-Za-z0-9+/=])/g,
  group: 1,
});
