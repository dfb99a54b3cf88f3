import { COMMANDS, main } from '../../../gateway/src/main';
import type { CommandIO } from '../../../gateway/src/cli/io';
import { USAGE } from '../../../gateway/src/cli/usage';

/** Generated from the command table: a command added without help fails here. */
const names = Object.keys(COMMANDS);

function capture(): { io: CommandIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (l) => (out += `${l}\n`), err: (l) => (err += `${l}\n`) }, out: () => out, err: () => err };
}

describe('every subcommand answers --help', () => {
  test('the command table is not empty', () => {
    expect(names).toEqual(expect.arrayContaining(['run', 'dev', 'check-config', 'token', 'verify', 'sessions', 'approvals']));
  });

  test.each(names.flatMap((name) => [[name, '--help'], [name, '-h']]))('gatehouse %s %s prints its usage and exits 0 without running', async (name, flag) => {
    const c = capture();
    // Help wins over everything else on the line, including arguments the command would reject.
    expect(await main([name, flag, '--no-such-flag'], c.io)).toBe(0);
    expect(c.out()).toMatch(new RegExp(`^Usage: gatehouse ${name}\\b`));
    expect(c.err()).toBe('');
  });

  test.each([['sessions', 'list'], ['sessions', 'show'], ['sessions', 'export'], ['approvals', 'list'], ['approvals', 'approve']])(
    'gatehouse %s %s --help prints the command’s usage',
    async (name, sub) => {
      const c = capture();
      expect(await main([name, sub, '--help'], c.io)).toBe(0);
      expect(c.out()).toContain(`Usage: gatehouse ${name}`);
      expect(c.out()).toContain(sub);
    },
  );

  test('every command is listed in the overall usage', () => {
    for (const name of names) expect(USAGE).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
  });

  test('an argument after -- is not a help request', async () => {
    const c = capture();
    expect(await main(['token', '--', '--help'], c.io)).not.toBe(0);
  });
});

describe('verify --help', () => {
  test('names every option the verify command accepts', async () => {
    let out = '';
    expect(await main(['verify', '--help'], { out: (l) => (out += l), err: () => {} })).toBe(0);
    for (const flag of ['--config', '--trust-key', '--key-endpoint', '--witness', '--allow-unsealed-tail', '--json']) expect(out).toContain(flag);
  });
});
