import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

/** Where `cdk deploy` builds the gateway image from: a build context, its Dockerfile, and what to stage. */
export interface GatewayImageSource {
  readonly directory: string;
  readonly file: string;
  /** Glob exclusions (IgnoreMode.GLOB): everything but the bundle and the Dockerfile. */
  readonly exclude: string[];
}

/** The repository layout: `gateway/Dockerfile` and the bundle in `dist/`. */
const repository = (root: string): GatewayImageSource => ({
  directory: root,
  file: 'gateway/Dockerfile',
  exclude: ['*', '.*', '!dist', '!dist/**', '!gateway', 'gateway/*', '!gateway/Dockerfile'],
});

/**
 * The image's build context. `imageDirectory` names a repository checkout. Without it: the
 * repository the app runs in (`cdk` in a Gatehouse clone), else the `@gatehouse/gateway` package
 * the consumer installed, which ships the same Dockerfile at its root and the bundle in `dist/`
 * (a consumer project has no `gateway/Dockerfile`: building from its working directory failed
 * with "Cannot find file").
 */
export function gatewayImageSource(imageDirectory: string | undefined, cwd: string = process.cwd()): GatewayImageSource {
  if (imageDirectory !== undefined) return repository(path.resolve(imageDirectory));
  if (existsSync(path.join(cwd, 'gateway', 'Dockerfile'))) return repository(path.resolve(cwd));
  let manifest: string;
  try {
    // Resolved from the app's project, where the consumer installs it next to this package.
    manifest = createRequire(path.join(path.resolve(cwd), 'package.json')).resolve('@gatehouse/gateway/package.json');
  } catch {
    throw new Error(`Gatehouse: no gateway image: ${cwd} has no gateway/Dockerfile and @gatehouse/gateway is not installed there; give image (a prebuilt image), imageDirectory (a Gatehouse checkout with dist/ built), or install @gatehouse/gateway`);
  }
  return { directory: path.dirname(manifest), file: 'Dockerfile', exclude: ['*', '.*', '!dist', '!dist/**', '!Dockerfile'] };
}
