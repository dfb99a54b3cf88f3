import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { GatehouseError } from '../../errors';
import type { ReceivePackRequest, RefCommand } from './receive-pack';
import { runGit } from './run-git';

/**
 * What a push does, proven with the system git against a mirror of the upstream (mirror.ts): the
 * wire carries no force flag, so each ref update is classified by ancestry, and the commits it
 * adds are read for policy. The pushed pack is indexed into a quarantine object directory (as
 * receive-pack does itself) that borrows the mirror's objects and is removed afterwards: nothing
 * pushed ever enters the mirror. Bounded in size and time; any failure rejects, and the push is
 * then refused (fail closed).
 */
export type RefUpdateKind = 'create' | 'delete' | 'fast-forward' | 'force';

export interface RefUpdateFacts {
  readonly ref: string;
  readonly oldId: string;
  readonly newId: string;
  readonly kind: RefUpdateKind;
  /** Commits the update adds to the upstream (reachable from new, from no upstream ref). */
  readonly commits: number;
  /** Distinct `Name <email>` of those commits' authors and committers, sorted. */
  readonly authors: readonly string[];
  readonly committers: readonly string[];
  /** Every added commit carries a signature (`gpgsig`; its validity is not checked here). */
  readonly signed: boolean;
  /** Paths of the blobs the update adds (new or changed files), sorted, at most `maxPaths`. */
  readonly changedPaths: readonly string[];
  /** More paths than `changedPaths` holds. */
  readonly pathsTruncated: boolean;
  /** Size in bytes of the largest blob the update adds (0 when none). */
  readonly largestBlob: number;
}

export interface PushInspection {
  readonly refs: readonly RefUpdateFacts[];
  readonly packBytes: number;
  /** SHA-256 of the pack as pushed, hex; undefined for a delete-only push. */
  readonly packSha256?: string;
}

export interface InspectLimits {
  /** @default 1 GiB */
  readonly maxPackBytes?: number;
  /** For each git step. @default 60000 */
  readonly timeoutMs?: number;
  /** Commits one ref update may add. @default 100000 */
  readonly maxCommits?: number;
  /** @default 1000 */
  readonly maxPaths?: number;
}

export interface InspectPushInput {
  /** The bare mirror of the upstream, freshly refreshed. */
  readonly mirrorDir: string;
  /** Where quarantines are made (removed after each push). */
  readonly scratchDir: string;
  readonly request: ReceivePackRequest;
  /** The pack (the request body after its head); ignored for a delete-only push. */
  readonly pack?: Buffer | Readable;
  readonly limits?: InspectLimits;
  /**
   * Runs once the refs are classified, while the quarantine still exists (the secret scan reads
   * the pushed objects from it: `objectDir`, borrowing the mirror's). Its rejection fails the
   * inspection.
   */
  readonly whileQuarantined?: (objectDir: string, refs: readonly RefUpdateFacts[]) => Promise<void>;
}

export async function inspectPush(input: InspectPushInput): Promise<PushInspection> {
  const { request } = input;
  const timeoutMs = input.limits?.timeoutMs ?? 60_000;
  await mkdir(input.scratchDir, { recursive: true });
  const quarantine = await mkdtemp(join(input.scratchDir, 'quarantine-'));
  try {
    const objects = join(quarantine, 'objects');
    await mkdir(join(objects, 'pack'), { recursive: true });
    const env = { GIT_DIR: input.mirrorDir, GIT_OBJECT_DIRECTORY: objects, GIT_ALTERNATE_OBJECT_DIRECTORIES: join(input.mirrorDir, 'objects') };
    const git = (args: string[], opts: { stdin?: Buffer; okCodes?: number[]; maxOutputBytes?: number } = {}) => runGit(args, { env, timeoutMs, ...opts });

    // ids are judged in the mirror's object format: a push in another one cannot be proven
    const mirrorFormat = (await git(['rev-parse', '--show-object-format'])).stdout.toString('utf8').trim();
    if (mirrorFormat !== request.objectFormat) throw new GatehouseError('GH_ERR_GIT_INSPECTION_FAILED', `the push uses ${request.objectFormat} object ids, the upstream mirror ${mirrorFormat}`);

    let packBytes = 0;
    let packSha256: string | undefined;
    if (!request.deleteOnly) {
      if (input.pack === undefined) throw new GatehouseError('GH_ERR_GIT_INSPECTION_FAILED', 'a push that updates refs carries no pack');
      const hash = createHash('sha256');
      const pack = input.pack;
      if (Buffer.isBuffer(pack)) {
        hash.update(pack);
        packBytes = pack.length;
      } else {
        pack.on('data', (c: Buffer) => {
          hash.update(c);
          packBytes += c.length;
        });
      }
      // the object format is the mirror's (index-pack --stdin takes it from the repository)
      await runGit(['index-pack', '--stdin', '--fix-thin'], { env, timeoutMs, stdin: pack, maxInputBytes: input.limits?.maxPackBytes ?? 1 << 30 });
      packSha256 = hash.digest('hex');
    }

    const ids = [...new Set(request.commands.flatMap((c) => [c.oldId, c.newId]).filter((id) => !/^0+$/.test(id)))];
    const types = await objectTypes(git, ids);
    const refs: RefUpdateFacts[] = [];
    for (const c of request.commands) refs.push(await refFacts(git, c, types, input.limits));
    await input.whileQuarantined?.(objects, refs);
    return { refs, packBytes, packSha256 };
  } finally {
    await rm(quarantine, { recursive: true, force: true });
  }
}

type Git = (args: string[], opts?: { stdin?: Buffer; okCodes?: number[]; maxOutputBytes?: number }) => Promise<{ code: number; stdout: Buffer }>;

/** id → object type, for ids present in the quarantine or the mirror; absent ids are missing. */
async function objectTypes(git: Git, ids: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (ids.length === 0) return out;
  const r = await git(['cat-file', '--batch-check=%(objectname) %(objecttype)'], { stdin: Buffer.from(ids.join('\n') + '\n') });
  for (const line of r.stdout.toString('utf8').split('\n')) {
    const [id, type] = line.split(' ');
    if (type !== undefined && type !== 'missing') out.set(id, type);
  }
  return out;
}

async function refFacts(git: Git, c: RefCommand, types: Map<string, string>, limits: InspectLimits | undefined): Promise<RefUpdateFacts> {
  const base = { ref: c.ref, oldId: c.oldId, newId: c.newId };
  if (c.kind === 'delete') return { ...base, kind: 'delete', commits: 0, authors: [], committers: [], signed: true, changedPaths: [], pathsTruncated: false, largestBlob: 0 };
  if (!types.has(c.newId)) throw new GatehouseError('GH_ERR_GIT_INSPECTION_FAILED', `the pushed object ${c.newId} for ${c.ref} is neither in the pack nor upstream`);
  let kind: RefUpdateKind = 'create';
  if (c.kind === 'update') {
    const oldType = types.get(c.oldId);
    if (oldType === undefined) throw new GatehouseError('GH_ERR_GIT_INSPECTION_FAILED', `the old value ${c.oldId} of ${c.ref} is not upstream (the mirror is stale or the client is)`);
    const commitish = (t: string | undefined): boolean => t === 'commit' || t === 'tag';
    if (!commitish(oldType) || !commitish(types.get(c.newId))) kind = 'force';
    else kind = (await git(['merge-base', '--is-ancestor', c.oldId, c.newId], { okCodes: [0, 1] })).code === 0 ? 'fast-forward' : 'force';
  }
  const exclude = c.kind === 'update' ? [`^${c.oldId}`] : [];
  const maxCommits = limits?.maxCommits ?? 100_000;
  const commitIds = (await git(['rev-list', `--max-count=${maxCommits + 1}`, c.newId, ...exclude, '--not', '--all'], { maxOutputBytes: (maxCommits + 1) * 65 + 1 })).stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '');
  if (commitIds.length > maxCommits) throw new GatehouseError('GH_ERR_GIT_INSPECTION_FAILED', `${c.ref} adds more than ${maxCommits} commits`);
  const people = await commitPeople(git, commitIds);
  const blobs = await addedBlobs(git, c.newId, exclude, limits?.maxPaths ?? 1000);
  return { ...base, kind, commits: commitIds.length, ...people, ...blobs };
}

/** Authors, committers and signatures of the given commits, read from the objects themselves. */
async function commitPeople(git: Git, ids: readonly string[]): Promise<Pick<RefUpdateFacts, 'authors' | 'committers' | 'signed'>> {
  const authors = new Set<string>();
  const committers = new Set<string>();
  let signed = true;
  if (ids.length === 0) return { authors: [], committers: [], signed };
  const out = (await git(['cat-file', '--batch'], { stdin: Buffer.from(ids.join('\n') + '\n'), maxOutputBytes: 256 << 20 })).stdout;
  let off = 0;
  while (off < out.length) {
    const nl = out.indexOf(0x0a, off);
    const [, type, size] = out.toString('utf8', off, nl).split(' ');
    const len = Number(size);
    if (type !== 'commit' || !Number.isSafeInteger(len)) throw new GatehouseError('GH_ERR_GIT_INSPECTION_FAILED', 'an added commit could not be read');
    const body = out.toString('utf8', nl + 1, nl + 1 + len);
    off = nl + 1 + len + 1;
    const header = body.slice(0, body.indexOf('\n\n') < 0 ? body.length : body.indexOf('\n\n'));
    let hasSig = false;
    for (const line of header.split('\n')) {
      if (line.startsWith('author ')) authors.add(person(line.slice(7)));
      else if (line.startsWith('committer ')) committers.add(person(line.slice(10)));
      else if (line.startsWith('gpgsig ') || line.startsWith('gpgsig-sha256 ')) hasSig = true;
    }
    if (!hasSig) signed = false;
  }
  return { authors: [...authors].sort(), committers: [...committers].sort(), signed };
}

/** `Ada <ada@example.com> 1700000000 +0000` → `Ada <ada@example.com>`. */
function person(field: string): string {
  const gt = field.lastIndexOf('>');
  return gt < 0 ? field : field.slice(0, gt + 1);
}

/** The blobs an update adds (with the path each was first seen at) and the largest one's size. */
async function addedBlobs(git: Git, newId: string, exclude: readonly string[], maxPaths: number): Promise<Pick<RefUpdateFacts, 'changedPaths' | 'pathsTruncated' | 'largestBlob'>> {
  const named = (await git(['rev-list', '--objects', newId, ...exclude, '--not', '--all'], { maxOutputBytes: 256 << 20 })).stdout.toString('utf8');
  const pathOf = new Map<string, string>();
  for (const line of named.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0) pathOf.set(line.slice(0, sp), line.slice(sp + 1));
  }
  if (pathOf.size === 0) return { changedPaths: [], pathsTruncated: false, largestBlob: 0 };
  const checked = (await git(['cat-file', '--batch-check=%(objectname) %(objecttype) %(objectsize)'], { stdin: Buffer.from([...pathOf.keys()].join('\n') + '\n'), maxOutputBytes: 256 << 20 })).stdout.toString('utf8');
  const paths = new Set<string>();
  let largestBlob = 0;
  for (const line of checked.split('\n')) {
    const [id, type, size] = line.split(' ');
    if (type !== 'blob') continue;
    paths.add(pathOf.get(id)!);
    largestBlob = Math.max(largestBlob, Number(size));
  }
  const sorted = [...paths].sort();
  return { changedPaths: sorted.slice(0, maxPaths), pathsTruncated: sorted.length > maxPaths, largestBlob };
}
