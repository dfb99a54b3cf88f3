import { join } from 'node:path';
import { GatehouseError } from '../../errors';
import type { Detector } from '../../masking/detector';
import { SECRET_DETECTORS } from '../../masking/detectors';
import { findDetections } from '../../masking/redact';
import { runGit } from './run-git';

/**
 * Secret scanning of pushed content: the masking detectors run over the lines a push ADDS, commit
 * by commit, read with the system git from the quarantine a push is indexed into (inspect-push.ts)
 * on top of the upstream's mirror (mirror.ts). A line already upstream is never reported again; a
 * secret added by one pushed commit and removed by a later one is reported (it stays in history).
 *
 * Findings name the commit, path, line and detector, never the value. The scan is bounded (bytes
 * per file, bytes in total, time, commits); when a bound is hit the result says so in `incomplete`
 * and `complete` is false. The caller MUST then refuse or hold the push: a push that was not fully
 * scanned is never passed as clean. Binary files are skipped and counted (git's own test: a NUL
 * byte in the first 8000 bytes).
 *
 * How: `git rev-list` lists the commits the updates add (reachable from a new value, from no
 * upstream ref and not from the old value), `git diff-tree --stdin --cc -U0` prints each one's patch
 * (combined for merges, so only lines in none of the parents count as added; renames detected, so a
 * moved file adds nothing; deletions without their content), and the added lines of each hunk are
 * scanned as one text, so a PEM key spanning lines is found. The patch is read as it streams.
 */
export interface SecretScanLimits {
  /** Bytes of added lines one file may have in one commit; more is not scanned. @default 1 MiB */
  readonly maxFileBytes?: number;
  /** Bytes of added lines in the whole push; scanning stops beyond. @default 64 MiB */
  readonly maxTotalBytes?: number;
  /** For the whole scan, git included. @default 20000 */
  readonly timeoutMs?: number;
  /** Commits the push may add. @default 100000 */
  readonly maxCommits?: number;
  /** Findings kept (all are counted). @default 100 */
  readonly maxFindings?: number;
}

export interface RefUpdate {
  readonly ref: string;
  /** All zeros for a creation. */
  readonly oldId: string;
  /** All zeros for a deletion (nothing to scan). */
  readonly newId: string;
}

export interface SecretScanInput {
  /** The upstream's bare mirror: its refs are what is already upstream. */
  readonly mirrorDir: string;
  /** The quarantine's object directory holding the pushed pack; absent when the objects are in the mirror itself. */
  readonly quarantineObjectDir?: string;
  readonly updates: readonly RefUpdate[];
  /** @default the built-in secret detectors (no personal-data rules) */
  readonly detectors?: readonly Detector[];
  readonly limits?: SecretScanLimits;
}

export interface SecretFinding {
  /** The commit that adds the line (for a ref that points at a blob directly: the blob's id). */
  readonly commit: string;
  /** The file's path in that commit (for a ref that points at a blob directly: the ref). */
  readonly path: string;
  /** 1-based line number in the file as of that commit. */
  readonly line: number;
  /** The rule id (`github-token`) and what it finds (`github_token`). */
  readonly detector: string;
  readonly type: string;
}

export type ScanBound = 'file-bytes' | 'total-bytes' | 'time' | 'commits' | 'unsupported-object';

export interface ScanIncomplete {
  readonly bound: ScanBound;
  /** The configured limit (bytes, ms or commits); 0 for `unsupported-object`. */
  readonly limit: number;
  readonly commit?: string;
  readonly path?: string;
  readonly ref?: string;
}

export interface SecretScanResult {
  /** True only when every added line of every added commit was scanned. False: refuse or hold the push. */
  readonly complete: boolean;
  readonly incomplete: readonly ScanIncomplete[];
  /** At most `maxFindings`, in push order. */
  readonly findings: readonly SecretFinding[];
  readonly findingsTotal: number;
  readonly commits: number;
  /** Files with added lines (per commit). */
  readonly files: number;
  readonly addedBytes: number;
  /** Binary files skipped (per commit), and the first few of their paths. */
  readonly binaryFiles: number;
  readonly binaryPaths: readonly string[];
}

const DEFAULTS = { maxFileBytes: 1 << 20, maxTotalBytes: 64 << 20, timeoutMs: 20_000, maxCommits: 100_000, maxFindings: 100 };
const MAX_BINARY_PATHS = 20;
const DEFAULT_DETECTORS: readonly Detector[] = SECRET_DETECTORS;

const isZero = (id: string): boolean => /^0+$/.test(id);

export async function scanPushedSecrets(input: SecretScanInput): Promise<SecretScanResult> {
  const limits = { ...DEFAULTS, ...stripUndefined(input.limits) };
  const deadline = Date.now() + limits.timeoutMs;
  const remaining = (): number => Math.max(1, deadline - Date.now());
  const env: Record<string, string> = { GIT_DIR: input.mirrorDir };
  if (input.quarantineObjectDir !== undefined) {
    env.GIT_OBJECT_DIRECTORY = input.quarantineObjectDir;
    env.GIT_ALTERNATE_OBJECT_DIRECTORIES = join(input.mirrorDir, 'objects');
  }
  const scan = new PatchScanner(input.detectors ?? DEFAULT_DETECTORS, limits, deadline);
  const timedOut = (): SecretScanResult => scan.result({ bound: 'time', limit: limits.timeoutMs });

  const updates = input.updates.filter((u) => !isZero(u.newId));
  if (updates.length === 0) return scan.result();
  try {
    // What each new value is once tags are peeled: commits are diffed, a blob is scanned whole,
    // anything else (a tree) cannot be read as added lines and leaves the scan incomplete.
    const peeled = (
      await runGit(['cat-file', '--batch-check=%(objectname) %(objecttype) %(objectsize)'], { env, timeoutMs: remaining(), stdin: Buffer.from(updates.map((u) => `${u.newId}^{}`).join('\n') + '\n') })
    ).stdout
      .toString('utf8')
      .split('\n');
    // Annotated tags the push adds carry messages of their own (a tag already upstream was scanned when it came).
    await scanTagMessages(scan, updates, input.mirrorDir, (args, o) => runGit(args, { env, timeoutMs: remaining(), ...o }));
    if (scan.stopped) return scan.result();
    const commitTips: string[] = [];
    for (let i = 0; i < updates.length; i++) {
      const [id, type, size] = (peeled[i] ?? '').split(' ');
      if (type === 'commit') commitTips.push(updates[i]!.newId);
      else if (type === 'blob') await scan.wholeBlob(id!, Number(size), updates[i]!.ref, (args, o) => runGit(args, { env, timeoutMs: remaining(), ...o }));
      else if (type === 'tree') scan.note({ bound: 'unsupported-object', limit: 0, ref: updates[i]!.ref });
      else throw new GatehouseError('GH_ERR_GIT_INSPECTION_FAILED', `the pushed object for ${updates[i]!.ref} could not be read`);
      if (scan.stopped) return scan.result();
    }
    if (commitTips.length === 0) return scan.result();

    const exclude = updates.filter((u) => !isZero(u.oldId)).map((u) => `^${u.oldId}`);
    const listed = await runGit(['rev-list', '--reverse', '--topo-order', `--max-count=${limits.maxCommits + 1}`, ...commitTips, ...exclude, '--not', '--all'], {
      env,
      timeoutMs: remaining(),
      maxOutputBytes: (limits.maxCommits + 1) * 65 + 1,
    });
    const commits = listed.stdout.toString('utf8').split('\n').filter((l) => l !== '');
    if (commits.length > limits.maxCommits) return scan.result({ bound: 'commits', limit: limits.maxCommits });
    scan.commits = commits.length;
    if (commits.length === 0) return scan.result();

    // Commit messages are added text too: read whole (they are small), scanned like a file.
    const raw = (await runGit(['cat-file', '--batch'], { env, timeoutMs: remaining(), stdin: Buffer.from(commits.join('\n') + '\n'), maxOutputBytes: limits.maxTotalBytes + commits.length * 1024 })).stdout;
    for (const o of batchObjects(raw)) {
      if (o.type !== 'commit') throw new GatehouseError('GH_ERR_GIT_INSPECTION_FAILED', 'an added commit could not be read');
      scan.wholeText(o.id, COMMIT_MESSAGE, messageOf(o.body));
      if (scan.stopped) return scan.result();
    }

    const stop = new AbortController();
    scan.onStop = () => stop.abort();
    try {
      await runGit(
        // Every option that shapes the output is explicit; the mirror's configuration is the gateway's own.
        ['diff-tree', '--stdin', '-r', '--root', '--cc', '-U0', '-M', '-D', '--no-ext-diff', '--no-textconv', '--no-color', '--src-prefix=a/', '--dst-prefix=b/'],
        { env, timeoutMs: remaining(), stdin: Buffer.from(commits.join('\n') + '\n'), maxOutputBytes: Number.MAX_SAFE_INTEGER, onStdout: (c) => scan.write(c), signal: stop.signal },
      );
      scan.end();
    } catch (e) {
      // Stopped by a bound: the result says which. Anything else is a failure of the scan itself.
      if (!scan.stopped) throw e;
    }
    return scan.result();
  } catch (e) {
    if (Date.now() >= deadline) return timedOut();
    throw e;
  }
}

/** The path a finding in a commit's or a tag's message names (no file is called that: paths never start with a parenthesis in git's output). */
export const COMMIT_MESSAGE = '(commit message)';
export const TAG_MESSAGE = '(tag message)';

type Call = (args: string[], o: { stdin?: Buffer; maxOutputBytes: number }) => Promise<{ stdout: Buffer }>;

/** The tag objects the updates add (a chain of tags followed), each message scanned; tags already in the mirror are not. */
async function scanTagMessages(scan: PatchScanner, updates: readonly RefUpdate[], mirrorDir: string, git: Call): Promise<void> {
  let ids = [...new Set(updates.map((u) => u.newId))];
  const seen = new Set<string>();
  for (let depth = 0; depth < 10 && ids.length > 0; depth++) {
    const raw = (await git(['cat-file', '--batch'], { stdin: Buffer.from(ids.join('\n') + '\n'), maxOutputBytes: 64 << 20 })).stdout;
    const tags = batchObjects(raw).filter((o) => o.type === 'tag' && !seen.has(o.id));
    if (tags.length === 0) return;
    const upstream = await inMirror(mirrorDir, tags.map((t) => t.id));
    const next: string[] = [];
    for (const t of tags) {
      seen.add(t.id);
      if (upstream.has(t.id)) continue;
      scan.wholeText(t.id, TAG_MESSAGE, withoutSignature(messageOf(t.body)));
      if (scan.stopped) return;
      const target = /^object ([0-9a-f]+)\ntype tag\n/m.exec(t.body.toString('latin1'));
      if (target !== null) next.push(target[1]!);
    }
    ids = next;
  }
}

/** Which of `ids` the mirror holds on its own (without the pushed quarantine). */
async function inMirror(mirrorDir: string, ids: readonly string[]): Promise<Set<string>> {
  const out = (await runGit(['cat-file', '--batch-check=%(objectname) %(objecttype)'], { env: { GIT_DIR: mirrorDir }, stdin: Buffer.from(ids.join('\n') + '\n') })).stdout.toString('latin1');
  const held = new Set<string>();
  for (const line of out.split('\n')) {
    const [id, type] = line.split(' ');
    if (id !== undefined && type !== undefined && type !== 'missing') held.add(id);
  }
  return held;
}

/** `git cat-file --batch` output: `<id> <type> <size>\n<content>\n` per object (a missing one ends the list). */
function batchObjects(out: Buffer): { id: string; type: string; body: Buffer }[] {
  const objects: { id: string; type: string; body: Buffer }[] = [];
  let off = 0;
  while (off < out.length) {
    const nl = out.indexOf(0x0a, off);
    if (nl < 0) break;
    const [id, type, size] = out.toString('latin1', off, nl).split(' ');
    const len = Number(size);
    if (id === undefined || type === undefined || type === 'missing' || !Number.isSafeInteger(len)) break;
    objects.push({ id, type, body: out.subarray(nl + 1, nl + 1 + len) });
    off = nl + 1 + len + 1;
  }
  return objects;
}

/** A commit's or tag's message: what follows its header's blank line. */
function messageOf(body: Buffer): string {
  const at = body.indexOf('\n\n');
  return at < 0 ? '' : body.toString('utf8', at + 2);
}

/** A signed tag's message ends with its signature (base64 armor, not text anyone wrote): not scanned. */
function withoutSignature(message: string): string {
  const at = message.search(/^-----BEGIN (?:PGP|SSH) SIGNATURE-----$|^-----BEGIN SIGNED MESSAGE-----$/m);
  return at < 0 ? message : message.slice(0, at);
}

function stripUndefined<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

type Limits = typeof DEFAULTS;
type GitCall = (args: string[], o: { maxOutputBytes: number }) => Promise<{ stdout: Buffer }>;

/** The part of the patch stream being read. */
interface FileState {
  path: string | undefined;
  addedBytes: number;
  /** Over its bound: the rest of this file is not read. */
  skip: boolean;
  counted: boolean;
}

/**
 * Reads `diff-tree --stdin --cc -U0` output line by line as it streams: commit ids, file headers,
 * hunk headers and changed lines. Added lines of one hunk are consecutive in the new file, so they
 * are scanned together (a multi-line key is one match) and each match's offset maps to its line.
 */
class PatchScanner {
  commits = 0;
  stopped = false;
  onStop: (() => void) | undefined;
  private readonly incomplete: ScanIncomplete[] = [];
  private readonly findings: SecretFinding[] = [];
  private readonly seen = new Set<string>();
  private findingsTotal = 0;
  private files = 0;
  private addedBytes = 0;
  private binaryFiles = 0;
  private readonly binaryPaths: string[] = [];

  private rest: Buffer | undefined;
  /** Dropping an over-long line up to its end. */
  private discarding = false;
  private commit = '';
  private file: FileState | undefined;
  /** Parents in the current hunk's header (1, or more for a merge's combined diff); 0 outside a hunk. */
  private cols = 0;
  private newLine = 0;
  private hunk: string[] = [];
  private hunkFirstLine = 0;
  private lastCheck = 0;

  constructor(
    private readonly detectors: readonly Detector[],
    private readonly limits: Limits,
    private readonly deadline: number,
  ) {}

  note(i: ScanIncomplete): void {
    this.incomplete.push(i);
  }

  private stop(i: ScanIncomplete): void {
    if (this.stopped) return;
    this.incomplete.push(i);
    this.stopped = true;
    this.onStop?.();
  }

  result(extra?: ScanIncomplete): SecretScanResult {
    if (extra !== undefined) this.incomplete.push(extra);
    return {
      complete: this.incomplete.length === 0,
      incomplete: this.incomplete,
      findings: this.findings,
      findingsTotal: this.findingsTotal,
      commits: this.commits,
      files: this.files,
      addedBytes: this.addedBytes,
      binaryFiles: this.binaryFiles,
      binaryPaths: this.binaryPaths,
    };
  }

  /** A ref that points at a blob: all of it is added. */
  async wholeBlob(id: string, size: number, ref: string, git: GitCall): Promise<void> {
    const max = this.limits.maxFileBytes;
    if (!(size <= max)) return this.note({ bound: 'file-bytes', limit: max, ref });
    const out = (await git(['cat-file', 'blob', id], { maxOutputBytes: max })).stdout;
    if (out.subarray(0, 8000).includes(0)) {
      this.binary(ref);
      return;
    }
    this.wholeText(id, ref, out.toString('utf8'));
  }

  /** Text added whole (a blob a ref points at, a commit's or tag's message), under the file bounds, its lines numbered from 1. */
  wholeText(id: string, path: string, text: string): void {
    if (text === '') return;
    this.commit = id;
    // A message is not a file: `files` counts files only.
    this.file = { path, addedBytes: 0, skip: false, counted: path === COMMIT_MESSAGE || path === TAG_MESSAGE };
    this.cols = 1;
    this.newLine = 1;
    for (const line of text.replace(/\n$/, '').split('\n')) {
      this.added(line, Buffer.byteLength(line) + 1);
      if (this.stopped || this.file.skip) break;
    }
    this.flushHunk();
    this.file = undefined;
    this.cols = 0;
  }

  write(chunk: Buffer): void {
    let buf = this.rest === undefined ? chunk : Buffer.concat([this.rest, chunk]);
    this.rest = undefined;
    let start = 0;
    for (;;) {
      if (this.stopped) return;
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      if (this.discarding) this.discarding = false;
      else this.line(buf.subarray(start, nl));
      start = nl + 1;
    }
    if (start >= buf.length) return;
    buf = buf.subarray(start);
    if (this.discarding) return;
    // A line longer than a file may add is not held: a removed line is dropped, anything else is
    // over the bound of the file it is in (or of the scan, outside any file).
    if (buf.length > this.limits.maxFileBytes + 1) {
      this.discarding = true;
      if (this.cols > 0 && buf.subarray(0, this.cols).includes(0x2d)) return;
      if (this.file !== undefined) this.overFile();
      else this.stop({ bound: 'file-bytes', limit: this.limits.maxFileBytes, commit: this.commit });
      return;
    }
    this.rest = Buffer.from(buf);
  }

  end(): void {
    if (this.rest !== undefined && !this.discarding) this.line(this.rest);
    this.rest = undefined;
    this.endFile();
  }

  private line(b: Buffer): void {
    const c = b[0];
    if (this.cols > 0) {
      // -U0: inside a hunk every line is a change (+, -, or a combined diff's columns) or `\ No newline`.
      if (c === 0x2b || c === 0x2d || c === 0x20) return this.change(b);
      if (c === 0x5c) return;
      if (c !== 0x40) this.cols = 0; // not another hunk: the file's hunks ended
    }
    if (c === 0x40) return this.hunkHeader(b.toString('latin1'));
    const s = b.toString('latin1');
    if (/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(s)) {
      this.endFile();
      this.commit = s;
      this.checkTime();
      return;
    }
    if (s.startsWith('diff --git ')) return this.startFile(gitHeaderPath(s.slice(11)));
    if (s.startsWith('diff --cc ') || s.startsWith('diff --combined ')) return this.startFile(unquote(s.slice(s.indexOf(' ', 5) + 1)));
    if (this.file === undefined) return;
    if (s.startsWith('+++ ')) {
      const p = unquote(s.slice(4).replace(/\t$/, ''));
      if (p !== '/dev/null') this.file.path = p.replace(/^b\//, '');
    } else if (s.startsWith('rename to ') || s.startsWith('copy to ')) {
      this.file.path = unquote(s.slice(s.indexOf(' to ') + 4));
    } else if (s.startsWith('Binary files ') && s.endsWith(' differ')) {
      this.binary(this.file.path ?? '?');
    }
  }

  private startFile(path: string | undefined): void {
    this.endFile();
    this.file = { path, addedBytes: 0, skip: false, counted: false };
  }

  private endFile(): void {
    this.flushHunk();
    this.file = undefined;
    this.cols = 0;
  }

  private binary(path: string): void {
    this.binaryFiles++;
    if (this.binaryPaths.length < MAX_BINARY_PATHS) this.binaryPaths.push(path);
  }

  /** `@@ -a,b +c,d @@` or, for a merge of n parents, n+1 `@` with n `-` ranges: the `+` range starts the new file's lines. */
  private hunkHeader(s: string): void {
    this.flushHunk();
    let at = 0;
    while (s.charCodeAt(at) === 0x40) at++;
    const m = /^ (?:-\d+(?:,\d+)? )+\+(\d+)(?:,\d+)? @/.exec(s.slice(at));
    if (at < 2 || m === null || this.file === undefined) throw new GatehouseError('GH_ERR_GIT_INSPECTION_FAILED', 'a pushed commit’s patch could not be read');
    this.cols = at - 1;
    this.newLine = Number(m[1]);
  }

  /** One changed line: its first `cols` characters say, per parent, whether it was added (+) or removed (-). */
  private change(b: Buffer): void {
    const cols = this.cols;
    let removed = false;
    let added = true;
    for (let i = 0; i < cols; i++) {
      const c = b[i];
      if (c === 0x2d) removed = true;
      if (c !== 0x2b) added = false;
    }
    if (removed) return; // not in the new file
    // In the new file. Added only when no parent had it; otherwise it is already upstream or in a scanned parent.
    if (added) this.added(b.toString('utf8', cols), b.length - cols + 1);
    else {
      this.flushHunk();
      this.newLine++;
    }
  }

  private added(text: string, bytes: number): void {
    const file = this.file!;
    if (file.skip) return;
    if (!file.counted) {
      file.counted = true;
      this.files++;
    }
    file.addedBytes += bytes;
    if (file.addedBytes > this.limits.maxFileBytes) return this.overFile();
    this.addedBytes += bytes;
    if (this.addedBytes > this.limits.maxTotalBytes) {
      this.flushHunk();
      return this.stop({ bound: 'total-bytes', limit: this.limits.maxTotalBytes, commit: this.commit, path: file.path });
    }
    if (this.hunk.length === 0) this.hunkFirstLine = this.newLine;
    this.hunk.push(text);
    this.newLine++;
  }

  private overFile(): void {
    const file = this.file;
    if (file === undefined || file.skip) return;
    // What was read of the file is scanned; the rest is not, and the result says so.
    this.flushHunk();
    file.skip = true;
    this.note({ bound: 'file-bytes', limit: this.limits.maxFileBytes, commit: this.commit, path: file.path });
  }

  private flushHunk(): void {
    if (this.hunk.length === 0) return;
    const lines = this.hunk;
    const first = this.hunkFirstLine;
    this.hunk = [];
    const text = lines.join('\n');
    const found = findDetections(text, this.detectors);
    if (found.length === 0) return this.checkTime();
    const starts: number[] = [];
    let off = 0;
    for (const l of lines) {
      starts.push(off);
      off += l.length + 1;
    }
    for (const d of found) {
      const line = first + lineIndex(starts, d.start);
      const path = this.file?.path ?? '?';
      const key = `${this.commit}\0${path}\0${line}\0${d.rule}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      this.findingsTotal++;
      if (this.findings.length < this.limits.maxFindings) this.findings.push({ commit: this.commit, path, line, detector: d.rule, type: d.type });
    }
    this.checkTime();
  }

  private checkTime(): void {
    // Date.now() per hunk is cheap, but not needed more often than every few milliseconds of work.
    const now = Date.now();
    if (now - this.lastCheck < 5) return;
    this.lastCheck = now;
    if (now >= this.deadline) this.stop({ bound: 'time', limit: this.limits.timeoutMs, commit: this.commit });
  }
}

/** Index of the last start ≤ offset. */
function lineIndex(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * The path of `diff --git a/P b/P`: unambiguous when quoted or when both halves are the same path
 * (no rename); otherwise undefined, and the `+++`/`rename to` header that follows names it.
 */
function gitHeaderPath(s: string): string | undefined {
  if (s.startsWith('"')) {
    const end = quotedEnd(s);
    const rest = s.slice(end + 1).trim();
    const b = rest.startsWith('"') ? unquote(rest) : rest;
    return b.startsWith('b/') ? b.slice(2) : undefined;
  }
  const half = (s.length - 1) / 2;
  if (Number.isInteger(half) && s.slice(0, half).startsWith('a/') && s.slice(half + 1) === `b/${s.slice(2, half)}`) return s.slice(2, half);
  return undefined;
}

function quotedEnd(s: string): number {
  for (let i = 1; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i;
  }
  return s.length;
}

const ESCAPES: Readonly<Record<string, number>> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };

/** Git's C-style quoting (`"d i/\303\251.txt"`) undone; an unquoted path is returned as it is (read as UTF-8). */
export function unquote(s: string): string {
  if (!s.startsWith('"')) return Buffer.from(s, 'latin1').toString('utf8');
  const bytes: number[] = [];
  for (let i = 1; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"') break;
    if (c !== '\\') {
      bytes.push(s.charCodeAt(i) & 0xff);
      continue;
    }
    const n = s[++i] ?? '';
    if (/[0-7]/.test(n)) {
      bytes.push(parseInt(s.slice(i, i + 3), 8) & 0xff);
      i += 2;
    } else bytes.push(ESCAPES[n] ?? n.charCodeAt(0));
  }
  return Buffer.from(bytes).toString('utf8');
}
