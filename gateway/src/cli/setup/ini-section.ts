/**
 * Sets keys in one section of an INI-style file (libpq's pg_service.conf, the AWS config file)
 * while leaving everything else as it was: other sections, other keys of the same section,
 * comments, blank lines and the order of lines. A key already set to the wanted value keeps its
 * line byte for byte, so a second run produces the same text.
 */
export interface IniSectionUpdate {
  /** The section name as written between brackets: `orders`, `profile gatehouse`. */
  readonly section: string;
  /** Keys to set, in the order new ones are appended. */
  readonly set: readonly (readonly [string, string])[];
  /** How a new or changed line is written: `key=value` (libpq) or `key = value` (AWS). */
  readonly separator: '=' | ' = ';
}

const SECTION = /^\s*\[([^\]]*)\]\s*$/;
const ENTRY = /^\s*([^#;=\s][^=]*?)\s*=\s*(.*?)\s*$/;

export function upsertIniSection(text: string | undefined, update: IniSectionUpdate): string {
  const lines = text === undefined || text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const line = (key: string, value: string) => `${key}${update.separator}${value}`;
  let start = -1;
  for (let i = 0; i < lines.length; i++) {
    const m = SECTION.exec(lines[i]!);
    if (m && m[1]!.trim() === update.section) {
      start = i;
      break;
    }
  }
  if (start === -1) {
    const block = [`[${update.section}]`, ...update.set.map(([k, v]) => line(k, v))];
    const out = lines.length === 0 ? block : [...lines, ...(lines[lines.length - 1]!.trim() === '' ? [] : ['']), ...block];
    return `${out.join('\n')}\n`;
  }
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    if (SECTION.test(lines[i]!)) {
      end = i;
      break;
    }
  }
  const missing: string[] = [];
  for (const [key, value] of update.set) {
    let found = false;
    for (let i = start + 1; i < end; i++) {
      const m = ENTRY.exec(lines[i]!);
      if (!m || m[1] !== key) continue;
      if (!found && m[2] !== value) lines[i] = line(key, value);
      else if (found) lines[i] = `# ${lines[i]} (duplicate, replaced by gatehouse setup)`;
      found = true;
    }
    if (!found) missing.push(line(key, value));
  }
  // New keys go after the section's last non-blank line, so the blank line before the next section stays.
  let insertAt = end;
  while (insertAt > start + 1 && lines[insertAt - 1]!.trim() === '') insertAt--;
  lines.splice(insertAt, 0, ...missing);
  return `${lines.join('\n')}\n`;
}

/** The keys of one section (last value wins), or undefined when the section does not exist. */
export function readIniSection(text: string | undefined, section: string): Map<string, string> | undefined {
  if (text === undefined) return undefined;
  let inside = false;
  let out: Map<string, string> | undefined;
  for (const l of text.split('\n')) {
    const s = SECTION.exec(l);
    if (s) {
      inside = s[1]!.trim() === section;
      if (inside) out ??= new Map();
      continue;
    }
    const m = inside ? ENTRY.exec(l) : null;
    if (m) out!.set(m[1]!, m[2]!);
  }
  return out;
}
