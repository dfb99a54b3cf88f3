import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayImageSource } from '../../../constructs/aws/gateway-image-source';

// GIVEN a consumer project (no gateway/Dockerfile), a Gatehouse checkout, and nothing at all.
let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'gh-image-source-'));
  const consumer = join(work, 'consumer');
  const pkg = join(consumer, 'node_modules/@gatehouse/gateway');
  mkdirSync(join(pkg, 'dist'), { recursive: true });
  writeFileSync(join(consumer, 'package.json'), '{"name":"consumer","private":true}');
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: '@gatehouse/gateway', version: '0.1.0', exports: { './package.json': './package.json' } }));
  writeFileSync(join(pkg, 'Dockerfile'), 'FROM scratch\n');
  mkdirSync(join(work, 'checkout/gateway'), { recursive: true });
  writeFileSync(join(work, 'checkout/gateway/Dockerfile'), 'FROM scratch\n');
  mkdirSync(join(work, 'empty'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

test('a consumer project without gateway/Dockerfile builds from the installed @gatehouse/gateway package', () => {
  expect(gatewayImageSource(undefined, join(work, 'consumer'))).toEqual({
    directory: join(work, 'consumer/node_modules/@gatehouse/gateway'),
    file: 'Dockerfile',
    exclude: ['*', '.*', '!dist', '!dist/**', '!Dockerfile'],
  });
});

test('a checkout builds gateway/Dockerfile from its root; imageDirectory overrides both', () => {
  expect(gatewayImageSource(undefined, join(work, 'checkout'))).toMatchObject({ directory: join(work, 'checkout'), file: 'gateway/Dockerfile' });
  expect(gatewayImageSource(join(work, 'checkout'), join(work, 'consumer'))).toMatchObject({ directory: join(work, 'checkout'), file: 'gateway/Dockerfile' });
});

test('neither: a clear error naming image, imageDirectory and the package', () => {
  expect(() => gatewayImageSource(undefined, join(work, 'empty'))).toThrow(/no gateway\/Dockerfile and @gatehouse\/gateway is not installed there; give image .*imageDirectory .*install @gatehouse\/gateway/);
});
