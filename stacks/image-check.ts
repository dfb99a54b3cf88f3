// `npm run image:check`: before `az acr build` / `gcloud builds submit` / `docker build`, which
// upload dist/ as it is, says whether dist/ is missing or older than the gateway's sources
// (stacks/gateway-bundle.ts, the check the AWS app runs at synth). Exit 0 when fresh, 1 when not.
import { assertGatewayBundleFresh } from './gateway-bundle';

try {
  assertGatewayBundleFresh(process.cwd(), 'image');
  process.stdout.write('gatehouse: dist/gateway.mjs is newer than every gateway source: the image will carry this code\n');
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 1;
}
