import { realpathSync } from 'node:fs';
import { isGatehouseError } from './errors';
import { exitWhenFlushed, ignoreClosedReaders, processIO, type CommandIO } from './cli/io';
import { COMMAND_HELP, USAGE, VERSION, wantsHelp, type CommandName } from './cli/usage';

type Command = (argv: string[], io: CommandIO) => Promise<number>;

/** Every subcommand; typed against COMMAND_HELP so none exists without its `--help`. */
export const COMMANDS: Readonly<Record<CommandName, () => Promise<Command>>> = {
  run: async () => (await import('./cli/commands/run')).runCommand,
  dev: async () => (await import('./cli/commands/dev')).devCommand,
  'check-config': async () => (await import('./cli/commands/check-config')).checkConfigCommand,
  token: async () => (await import('./cli/commands/token')).tokenCommand,
  'git-credential': async () => (await import('./cli/commands/git-credential')).gitCredentialCommand,
  'aws-credentials': async () => (await import('./cli/commands/aws-credentials')).awsCredentialsCommand,
  aws: async () => (await import('./cli/commands/aws')).awsCommand,
  login: async () => (await import('./cli/commands/login')).loginCommand,
  logout: async () => (await import('./cli/commands/logout')).logoutCommand,
  setup: async () => (await import('./cli/commands/setup')).setupCommand,
  psql: async () => (await import('./cli/commands/psql')).psqlCommand,
  'ssh-key': async () => (await import('./cli/commands/ssh-key')).sshKeyCommand,
  doctor: async () => (await import('./cli/commands/doctor')).doctorCommand,
  verify: async () => (await import('./cli/commands/verify')).verifyCommand,
  sessions: async () => (await import('./cli/commands/sessions')).sessionsCommand,
  approvals: async () => (await import('./cli/commands/approvals')).approvalsCommand,
  index: async () => (await import('./cli/commands/index-rebuild')).indexCommand,
  'bootstrap-state': async () => (await import('./cli/commands/bootstrap-state')).bootstrapStateCommand,
  health: async () => (await import('./cli/commands/health')).healthCommand,
};

/** The `gatehouse` command. Returns the exit code. */
export async function main(argv: string[], io: CommandIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    io.out(USAGE);
    return name ? 0 : 2;
  }
  if (name === '-v' || name === '--version') {
    io.out(VERSION);
    return 0;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name as CommandName] : undefined;
  if (!load) {
    io.err(`gatehouse: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  if (wantsHelp(rest)) {
    io.out(COMMAND_HELP[name as CommandName]);
    return 0;
  }
  try {
    return await (await load())(rest, io);
  } catch (e) {
    // Bad input (flags, configuration, files) ends here with its message and code, not a stack.
    if (isGatehouseError(e)) io.err(`gatehouse ${name}: ${e.message} [${e.code}]`);
    else if (e instanceof TypeError && 'code' in e && String((e as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) io.err(`gatehouse ${name}: ${e.message}\n(see gatehouse --help)`);
    else io.err(`gatehouse ${name}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

// Run only as the entry point (the bundle, or `node gateway/src/main.ts` via a loader), not when imported by tests.
// An installed package runs through a symbolic link (node_modules/.bin/gatehouse): match the file it points to.
const entry = realEntry(process.argv[1]);
if (/gateway\.mjs$|main\.(ts|js|mjs)$/.test(entry) && !process.env.JEST_WORKER_ID) {
  ignoreClosedReaders();
  // Exit only once stdout and stderr are flushed: a piped export must arrive whole.
  main(process.argv.slice(2)).then(
    (code) => exitWhenFlushed(code),
    (e) => {
      process.stderr.write(`gatehouse: ${e instanceof Error ? e.message : String(e)}\n`);
      exitWhenFlushed(1);
    },
  );
}

function realEntry(path: string | undefined): string {
  if (!path) return '';
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
