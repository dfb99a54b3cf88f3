import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * A reference app that builds the gateway image from the working copy (`gateway/Dockerfile`
 * copies only `dist/`) must not stage an empty or stale bundle: a synth without `npm run build`,
 * or after editing gateway/src without rebuilding, would deploy a gateway that is not the code in
 * front of the operator. Checked at synth, before anything is staged.
 */

/** Inputs of the bundle besides gateway/src (gateway/build.mjs and the assets it copies). */
const BUILD_INPUTS = ['gateway/build.mjs', 'gateway/assets.mjs'];
const BUNDLE = 'dist/gateway.mjs';

/** Why `root`'s bundle cannot be staged, or undefined when it is present and newer than every source. */
export function gatewayBundleProblem(root: string): string | undefined {
  const bundle = join(root, BUNDLE);
  if (!existsSync(bundle)) return `${BUNDLE} is missing`;
  const built = statSync(bundle).mtimeMs;
  const newest = newestSource(root);
  if (newest && newest.mtimeMs > built) {
    return `${BUNDLE} (built ${new Date(built).toISOString()}) is older than ${relative(root, newest.path)} (changed ${new Date(newest.mtimeMs).toISOString()})`;
  }
  return undefined;
}

/** What to run, per place the check guards. */
const ADVICE = {
  cdk: 'run `npm run build` before `cdk synth` or `cdk deploy` (or set gatehouse:image to a prebuilt image)',
  // The Azure and Google Cloud images are built from this tree by `az acr build` / `gcloud builds
  // submit` (docs/azure.md, docs/gcp.md), which upload dist/ as it is.
  cdktf:
    'run `npm run build`, then build and push the image again (docs/azure.md step 2, docs/gcp.md step 3) with a new tag and set it as `image`, before `cdktf synth` or `cdktf deploy`; when the image was built elsewhere (CI), set GATEHOUSE_IMAGE_PREBUILT=1',
  image: 'run `npm run build` before building the image (`az acr build`, `gcloud builds submit`, `docker build -f gateway/Dockerfile .`): it would carry this bundle',
} as const;

/** Throws with what to do when `root`'s bundle is missing or stale. */
export function assertGatewayBundleFresh(root: string, guard: keyof typeof ADVICE = 'cdk'): void {
  const problem = gatewayBundleProblem(root);
  if (problem) throw new Error(`gatehouse: ${problem}: ${ADVICE[guard]}`);
}

function newestSource(root: string): { path: string; mtimeMs: number } | undefined {
  const files = [...BUILD_INPUTS.map((f) => join(root, f)).filter((f) => existsSync(f)), ...walk(join(root, 'gateway/src'))];
  let newest: { path: string; mtimeMs: number } | undefined;
  for (const path of files) {
    const mtimeMs = statSync(path).mtimeMs;
    if (!newest || mtimeMs > newest.mtimeMs) newest = { path, mtimeMs };
  }
  return newest;
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
}
