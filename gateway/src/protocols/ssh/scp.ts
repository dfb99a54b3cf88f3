import { createHash, type Hash } from 'node:crypto';
import type { SshFileContentPayload, SshScpFilePayload } from '../../pipeline/types';
import { ContentBudget, FileContent } from './sftp/file-content';
import type { TerminalMasking } from './terminal-recorder';

/** Longest SCP control line accepted (OpenSSH's own buffer is 2 KiB plus the name). */
const MAX_LINE = 8192;

/** What the exec command of a legacy SCP transfer (`scp -O`) asks the server's scp to do. */
export interface ScpCommand {
  /** `sink` (`-t`: the client sends files: writes) or `source` (`-f`: the server sends them: reads). */
  readonly mode: 'sink' | 'source';
  /** The paths as given: the sink's target, or the source's files. */
  readonly paths: readonly string[];
  /** `-d` (the target must be a directory) or `-r` (recursive). */
  readonly directory: boolean;
}

/** Shell words of a command line: quotes and backslashes as a POSIX shell reads them; undefined for what this does not read (`$`, `;`, backquotes, …). */
function shellWords(line: string): string[] | undefined {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return undefined;
      word += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1]!)) j++;
        else if ('$`'.includes(line[j]!)) return undefined;
        word += line[j];
      }
      if (j >= line.length) return undefined;
      i = j;
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= line.length) return undefined;
      word += line[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if ('$`;&|<>()*?[]{}~\n'.includes(c)) {
      return undefined;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * The SCP transfer an exec command line starts (`scp [-v -r -p -d -q] -t|-f [--] PATH…`, as
 * OpenSSH's client sends it with `-O`), or undefined for any other command.
 */
export function parseScpCommand(command: string): ScpCommand | undefined {
  const words = shellWords(command.trim());
  if (words === undefined || words.length < 2) return undefined;
  const prog = words[0]!;
  if (prog !== 'scp' && !prog.endsWith('/scp')) return undefined;
  let mode: ScpCommand['mode'] | undefined;
  let directory = false;
  let i = 1;
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') {
      i++;
      break;
    }
    if (!w.startsWith('-') || w === '-') break;
    for (const flag of w.slice(1)) {
      if (flag === 't') mode = mode === undefined ? 'sink' : undefined;
      else if (flag === 'f') mode = mode === undefined ? 'source' : undefined;
      else if (flag === 'd' || flag === 'r') directory = true;
      else if (!'vpqT'.includes(flag)) return undefined;
    }
  }
  const paths = words.slice(i);
  if (mode === undefined || paths.length === 0 || (mode === 'sink' && paths.length !== 1)) return undefined;
  return { mode, paths, directory };
}

interface FileInProgress {
  readonly path: string;
  readonly name: string;
  readonly mode: string;
  readonly size: number;
  received: number;
  readonly hash: Hash;
  readonly content: FileContent;
}

/** One event the parser produced, for `session.recordOutcome`. */
export type ScpEvent = { readonly type: 'ssh.scp.file'; readonly payload: SshScpFilePayload } | { readonly type: 'ssh.file.content'; readonly payload: SshFileContentPayload };

/**
 * Reads the file-carrying direction of a legacy SCP transfer (the client's stdin for `-t`, the
 * server's stdout for `-f`): control lines (`C` file, `D` directory, `E` end of directory, `T`
 * times, `\x01`/`\x02` messages) and each file's bytes, which are counted, hashed (SHA-256) and
 * kept up to the cap (sftp/file-content.ts) but never recorded as terminal text. Each file becomes
 * `ssh.file.content` (its first bytes) and `ssh.scp.file` (path, mode, size, SHA-256, whether it
 * arrived whole). Pure: bytes in, events out. Bytes that break the protocol stop the parsing
 * (`broken` says why); the caller records the rest as it records any channel.
 */
export class ScpStream {
  private state: 'line' | 'data' | 'status' | 'message' = 'line';
  private line: Buffer[] = [];
  private lineLength = 0;
  private readonly dirs: string[] = [];
  private file: FileInProgress | undefined;
  /** Source mode: which of the named files each top-level `C` line is (by basename, in order). */
  private readonly unused: string[];
  private readonly budget = new ContentBudget();
  broken: string | undefined;

  constructor(
    private readonly channel: number,
    private readonly command: ScpCommand,
    private readonly capBytes: number,
    private readonly masking: TerminalMasking | undefined,
  ) {
    this.unused = [...command.paths];
  }

  private get direction(): 'read' | 'write' {
    return this.command.mode === 'sink' ? 'write' : 'read';
  }

  /** The next bytes of the file-carrying direction; the events they completed. */
  push(chunk: Buffer): ScpEvent[] {
    const out: ScpEvent[] = [];
    let i = 0;
    while (i < chunk.length && this.broken === undefined) {
      if (this.state === 'data') {
        const f = this.file!;
        const take = Math.min(f.size - f.received, chunk.length - i);
        const part = chunk.subarray(i, i + take);
        f.hash.update(part);
        f.content.add(part);
        f.received += take;
        i += take;
        if (f.received === f.size) this.state = 'status';
      } else if (this.state === 'status') {
        const b = chunk[i++]!;
        if (b === 0) this.finishFile(out, true, undefined);
        else if (b === 1 || b === 2) this.state = 'message';
        else this.broken = `byte ${b} after a file's data where a status was expected`;
      } else {
        const nl = chunk.indexOf(0x0a, i);
        const end = nl < 0 ? chunk.length : nl;
        this.line.push(chunk.subarray(i, end));
        this.lineLength += end - i;
        i = nl < 0 ? chunk.length : nl + 1;
        if (this.lineLength > MAX_LINE) this.broken = `a control line longer than ${MAX_LINE} bytes`;
        else if (nl >= 0) {
          const text = Buffer.concat(this.line).toString('utf8');
          this.line = [];
          this.lineLength = 0;
          if (this.state === 'message') {
            this.state = 'line';
            this.finishFile(out, false, text);
          } else this.control(text, out);
        }
      }
    }
    return out;
  }

  /** The channel ended: a file cut short is recorded as incomplete. */
  end(): ScpEvent[] {
    const out: ScpEvent[] = [];
    if (this.file !== undefined) this.finishFile(out, false, 'the channel ended during the transfer');
    return out;
  }

  private control(line: string, out: ScpEvent[]): void {
    const kind = line[0];
    if (kind === 'T') {
      if (!/^T\d+ \d+ \d+ \d+$/.test(line)) this.broken = 'a malformed T line';
      return;
    }
    if (kind === 'E' && line === 'E') {
      if (this.dirs.pop() === undefined) this.broken = 'E without a directory';
      return;
    }
    if (kind === '\x01' || kind === '\x02') return; // a message from the source (e.g. a file it cannot read): it is in stderr too
    const m = /^([CD])([0-7]{4}) (\d{1,15}) (.+)$/.exec(line);
    if (m === null || m[4]!.includes('/') || m[4] === '..' || m[4] === '.') {
      this.broken = `unexpected control line ${JSON.stringify(line.slice(0, 80))}`;
      return;
    }
    const name = m[4]!;
    if (m[1] === 'D') {
      if (this.dirs.length === 0 && this.command.mode === 'source') this.dirs.push(this.sourcePath(name));
      else this.dirs.push(this.dirs.length === 0 ? this.sinkPath(name) : `${this.dirs[this.dirs.length - 1]}/${name}`);
      return;
    }
    const size = Number(m[3]);
    const path = this.dirs.length > 0 ? `${this.dirs[this.dirs.length - 1]}/${name}` : this.command.mode === 'source' ? this.sourcePath(name) : this.sinkPath(name);
    this.file = { path, name, mode: m[2]!, size, received: 0, hash: createHash('sha256'), content: new FileContent(this.capBytes, this.budget) };
    this.state = size === 0 ? 'status' : 'data';
  }

  /** Where the sink writes a top-level entry: into the target when it is a directory (`-d`, `-r`, a trailing `/`), else the target itself. */
  private sinkPath(name: string): string {
    const target = this.command.paths[0]!;
    if (this.command.directory || target.endsWith('/')) return `${target.replace(/\/+$/, '')}/${name}`;
    return target;
  }

  /** Which named source a top-level entry is: the first unused one with that basename, else the name. */
  private sourcePath(name: string): string {
    const i = this.unused.findIndex((p) => p.replace(/\/+$/, '').split('/').pop() === name);
    if (i < 0) return name;
    return this.unused.splice(i, 1)[0]!.replace(/\/+$/, '');
  }

  private finishFile(out: ScpEvent[], ok: boolean, message: string | undefined): void {
    const f = this.file;
    this.file = undefined;
    this.state = 'line';
    if (f === undefined) return; // a message not about a file
    const complete = ok && f.received === f.size;
    const content = f.content.toPayload({ channel: this.channel, path: f.path, direction: this.direction }, f.received, this.masking);
    if (content !== undefined) out.push({ type: 'ssh.file.content', payload: { ...content, via: 'scp' } });
    out.push({
      type: 'ssh.scp.file',
      payload: {
        channel: this.channel,
        direction: this.direction,
        path: f.path,
        name: f.name,
        mode: f.mode,
        size: f.size,
        bytes: f.received,
        sha256: complete ? f.hash.digest('hex') : null,
        complete,
        ...(message !== undefined ? { message: message.replace(/^[\x01\x02]/, '').slice(0, 500) } : {}),
      },
    });
  }
}

/** The stream of an exec channel that carries an SCP transfer's files, and its parser. */
export interface ScpTap {
  readonly stream: 'stdin' | 'stdout';
  readonly parser: ScpStream;
}

/** The tap for an exec channel whose command is a legacy SCP transfer; undefined for any other channel. */
export function scpTap(channel: number, command: string | null, capBytes: number, masking: TerminalMasking | undefined): ScpTap | undefined {
  const parsed = command === null ? undefined : parseScpCommand(command);
  if (parsed === undefined) return undefined;
  return { stream: parsed.mode === 'sink' ? 'stdin' : 'stdout', parser: new ScpStream(channel, parsed, capBytes, masking) };
}
