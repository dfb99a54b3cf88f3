import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential } from '@azure/identity';

/**
 * The gateway's Azure identity: on Container Apps, the user-assigned managed identity named by
 * `AZURE_CLIENT_ID` (the kit sets it); elsewhere, workload identity federation or the developer's
 * login. Never a key or a connection string.
 */
export function azureDefaultCredential(clientId: string | undefined = process.env.AZURE_CLIENT_ID): TokenCredential {
  return new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId, workloadIdentityClientId: clientId } : {});
}
