/** Object ids on the wire: lowercase hex, 40 digits (SHA-1) or 64 (SHA-256, `object-format=sha256`). */
export type ObjectFormat = 'sha1' | 'sha256';

export const OID_HEX_LENGTH: Readonly<Record<ObjectFormat, number>> = { sha1: 40, sha256: 64 };

/** True when `oid` is an object id of `format` as Git writes it (lowercase hex). */
export function isObjectId(oid: string, format: ObjectFormat): boolean {
  return oid.length === OID_HEX_LENGTH[format] && /^[0-9a-f]+$/.test(oid);
}

export function zeroId(format: ObjectFormat): string {
  return '0'.repeat(OID_HEX_LENGTH[format]);
}

/** The object format a capability list names (`object-format=sha256`), sha1 when none does. */
export function objectFormatOf(capabilities: readonly string[]): ObjectFormat | undefined {
  const named = capabilities.filter((c) => c.startsWith('object-format='));
  if (named.length === 0) return 'sha1';
  if (named.length > 1) return undefined;
  const v = named[0].slice('object-format='.length);
  return v === 'sha1' || v === 'sha256' ? v : undefined;
}
