/** The `gatehouse:*` context keys the CDKTF app reads from cdktf.json. */
export const GATEHOUSE_CONTEXT_KEYS = ['gatehouse:azure', 'gatehouse:gcp'] as const;

/**
 * Refuses a `gatehouse:*` context key the app does not read (e.g. `gatehouse:gpc`): ignored, it
 * would deploy the defaults instead of what the operator wrote. Other keys (cdktf's own) pass.
 */
export function checkGatehouseContextKeys(context: Readonly<Record<string, unknown>>, known: readonly string[] = GATEHOUSE_CONTEXT_KEYS): void {
  const unknown = Object.keys(context).filter((key) => key.startsWith('gatehouse:') && !known.includes(key));
  if (unknown.length > 0) {
    throw new Error(`cdktf.json context: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${known.join(', ')})`);
  }
}
