import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEvents } from '../../../support/pg-gateway';
import { runSsh, startSshTestEnv, type SshTestEnv } from '../../../support/ssh-gateway';

/**
 * A channel's output faster than the log store takes it: the recorder's buffer (1 MiB here) fills.
 * Every chunk must still be recorded before it is passed on: the stream waits for room. Before,
 * the full buffer refused the chunk's event and the bytes went through unrecorded.
 */
let env: SshTestEnv;

beforeAll(async () => {
  env = await startSshTestEnv({
    policy: 'permit (principal in Gatehouse::Group::"developers", action == Gatehouse::Action::"ssh:exec", resource);',
    recordingMode: 'buffered',
    config: () => ({ recording: { maxBufferBytes: 1024 * 1024 } }),
  });
}, 90_000);

afterAll(() => env?.stop());

it('holds a channel while the recorder buffer is full, then passes every byte, each recorded before it left', async () => {
  // Hex text: 8 MB of output, about 8 MB of event text, eight times the buffer.
  const text = randomBytes(4 * 1024 * 1024).toString('hex');
  const src = join(env.dir, 'flood.txt');
  writeFileSync(src, text);
  const { path } = await env.register(await env.token());
  const r = await runSsh(env, path, 'box', `cat ${src}`);
  expect({ code: r.code, bytes: r.stdout.length }).toEqual({ code: 0, bytes: text.length });
  expect(r.stdout === text).toBe(true);
  await env.gw.gateway.recorder.flush();
  const events = (await readEvents(env.gw.gateway.sink)) as { type: string; session: string; payload: Record<string, unknown> }[];
  const open = events.find((e) => e.type === 'ssh.channel.open' && e.payload.command === `cat ${src}`)!;
  const data = events.filter((e) => e.session === open.session && e.type === 'ssh.data' && e.payload.stream === 'stdout');
  expect(data.reduce((n, e) => n + (e.payload.bytes as number), 0)).toBe(text.length);
  expect(data.map((e) => e.payload.text).join('')).toBe(text);
}, 120_000);
