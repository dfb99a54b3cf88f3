/**
 * A string heuristic for obviously destructive exec command lines, set as `context.hazards` on
 * `ssh:exec` for the `ssh-guardrails` pack (policy/packs/ssh-guardrails.ts, docs/policy.md).
 *
 * It reads the command line the client sent when it opened the channel, nothing else: what a shell
 * is typed, a script's contents, stdin and anything an interpreter builds at run time (`sh -c
 * 'r''m -rf /'`, `eval`, variables) are not seen. It catches the plain and careless forms, not an
 * agent that means to get round it: decisions that matter take exact-match allowlists
 * (docs/ssh.md "Judging").
 */

/** What a command line was found to do. */
export type CommandHazard =
  /** A recursive remove (`rm -r`, `-R`, `--recursive`, in any flag order) of `/` or a top-level directory. */
  | 'remove-root'
  /** A recursive chmod, chown or chgrp of `/` or a top-level directory. */
  | 'permissions-root'
  /** `mkfs*`, `mke2fs`, `mkswap`, `wipefs`. */
  | 'make-filesystem'
  /** `dd … of=/dev/…` (other than null, zero and the standard streams). */
  | 'dd-device'
  /** A shell redirect or `tee` to a disk device (`/dev/sd*`, `/dev/nvme*`, `/dev/vd*`, …). */
  | 'device-write'
  /** shutdown, reboot, halt, poweroff, `init 0|6`, `systemctl poweroff|reboot|halt|kexec`. */
  | 'power'
  /** A fork bomb (`:(){ :|:& };:` and the same with another name). */
  | 'fork-bomb';

/** Words that run the command after them (with their options) rather than being the command. */
const WRAPPERS = new Set(['sudo', 'doas', 'env', 'eval', 'nohup', 'nice', 'ionice', 'time', 'exec', 'command', 'builtin', 'stdbuf', 'timeout', 'xargs', 'busybox']);
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash']);
/** Wrapper options that take a separate argument (`sudo -u root`, `nice -n 5`, `timeout 10`). */
const WRAPPER_ARGS = new Set(['-u', '-g', '-h', '-p', '-C', '-n', '-c', '-t', '-s', '-k', '-o', '-i', '-e', '-U']);

const DISK = /^\/dev\/(sd|hd|vd|xvd|nvme|mmcblk|disk|dm-|md|loop|mapper\/)/;
const HARMLESS_DEVICE = /^\/dev\/(null|zero|full|random|urandom|stdout|stderr|stdin|tty|fd\/|pts\/)/;

/** The hazards found in an exec command line, each once, in a stable order. */
export function commandHazards(command: string): CommandHazard[] {
  const found = new Set<CommandHazard>();
  // A function that pipes itself into itself in the background: `:(){ :|:& };:`, `f(){ f|f& };f`.
  if (/([\w:.]+)\s*\(\s*\)\s*\{[^}]*?\1\s*\|\s*\1\s*&/.test(command)) found.add('fork-bomb');
  // Redirects are read on the raw text: `> /dev/sda`, `>>/dev/nvme0n1`, `1>/dev/vdb`.
  for (const m of command.matchAll(/>>?\|?\s*["']?(\/dev\/[^\s"';|&<>]+)/g)) if (DISK.test(m[1]!)) found.add('device-write');
  for (const words of simpleCommands(command)) {
    const argv = unwrap(words);
    if (argv.length === 0) continue;
    const name = argv[0]!.replace(/^.*\//, '');
    const args = argv.slice(1);
    if (name === 'rm' && recursive(args, true) && operands(args).some(rootish)) found.add('remove-root');
    if ((name === 'chmod' || name === 'chown' || name === 'chgrp') && recursive(args, false) && operands(args).some(rootish)) found.add('permissions-root');
    if (name.startsWith('mkfs') || name === 'mke2fs' || name === 'mkswap' || name === 'wipefs') found.add('make-filesystem');
    if (name === 'dd' && args.some((a) => a.startsWith('of=/dev/') && !HARMLESS_DEVICE.test(a.slice(3)))) found.add('dd-device');
    if (name === 'tee' && operands(args).some((a) => DISK.test(a))) found.add('device-write');
    if (['shutdown', 'reboot', 'halt', 'poweroff'].includes(name)) found.add('power');
    if ((name === 'init' || name === 'telinit') && (args[0] === '0' || args[0] === '6')) found.add('power');
    if (name === 'systemctl' && args.some((a) => ['poweroff', 'reboot', 'halt', 'kexec', 'soft-reboot'].includes(a))) found.add('power');
  }
  return [...found];
}

/**
 * The simple commands of a line, as words: split on `;`, `&&`, `||`, `|`, `&`, newlines and
 * subshell/brace delimiters, quotes and backslashes dropped (`"/"` is `/`). Not a shell parser.
 */
function simpleCommands(command: string): string[][] {
  return command
    .split(/\|\||&&|[;|&\n(){}`]|\$\(/)
    .map((part) => part.replace(/\\(.)/g, '$1').replace(/["']/g, '').split(/\s+/).filter((w) => w !== ''))
    .filter((words) => words.length > 0);
}

/** The words after leading assignments (`X=1 rm …`) and wrappers (`sudo -u root env A=b rm …`). */
function unwrap(words: string[]): string[] {
  let i = 0;
  while (i < words.length) {
    const w = words[i]!;
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) {
      i++;
      continue;
    }
    const wrapper = w.replace(/^.*\//, '');
    // `sh -c 'rm -rf /'`, `bash -lc …`: quotes are dropped, so the script's words follow.
    if (SHELLS.has(wrapper) && words[i + 1]?.startsWith('-') === true) {
      i++;
      while (i < words.length && words[i]!.startsWith('-')) i++;
      continue;
    }
    if (!WRAPPERS.has(wrapper)) break;
    i++;
    // `timeout 10 cmd`: its duration; a wrapper's options, and the argument of those that take one.
    if (wrapper === 'timeout' && i < words.length && /^\d/.test(words[i]!)) i++;
    while (i < words.length && words[i]!.startsWith('-')) {
      const opt = words[i++]!;
      if (opt === '--') break;
      if (WRAPPER_ARGS.has(opt)) i++;
    }
  }
  return words.slice(i);
}

/** Recursive by `-r`/`-R` (also inside `-rf`, `-fR`, …) or `--recursive`; lower-case `-r` only where it means that (rm). */
function recursive(args: readonly string[], lowerR: boolean): boolean {
  for (const a of args) {
    if (a === '--') break;
    if (a === '--recursive') return true;
    if (/^-[A-Za-z]+$/.test(a) && (a.includes('R') || (lowerR && a.includes('r')))) return true;
  }
  return false;
}

/** The non-option arguments (everything after `--`). */
function operands(args: readonly string[]): string[] {
  const out: string[] = [];
  let options = true;
  for (const a of args) {
    if (options && a === '--') options = false;
    else if (!options || !a.startsWith('-')) out.push(a);
  }
  return out;
}

/** `/`, `/*`, `/.`, `//`, or a top-level directory (`/etc`, `/etc/`, `/etc/*`). */
function rootish(path: string): boolean {
  return /^\/+([^/]*)\/*\*?$/.test(path);
}
