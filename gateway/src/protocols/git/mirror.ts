import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runGit } from './run-git';

/**
 * A bare mirror of one upstream repository, kept beside the gateway to prove what a push does:
 * its refs are the upstream's refs as of the last refresh, its objects the base a pushed (thin)
 * pack is resolved against. Refreshed by `git fetch` before a push is judged; concurrent refreshes
 * share one fetch. The upstream credential reaches git only through its environment.
 */
export interface GitMirrorOptions {
  /** Where the bare mirror lives (created on first refresh). */
  readonly gitDir: string;
  /** The upstream repository's URL (https://…, or a path in tests). */
  readonly upstreamUrl: string;
  /** HTTP headers for the upstream (the brokered credential), asked for at each refresh. */
  readonly headers?: () => Promise<Readonly<Record<string, string>>>;
  /** @default 120000 */
  readonly timeoutMs?: number;
  /**
   * A PEM file of the CA(s) trusted for an https upstream (the connection's `upstreamCa`, as the
   * proxied requests trust it), asked for at each refresh; undefined: the system's roots.
   */
  readonly caFile?: () => Promise<string | undefined>;
}

export class GitMirror {
  private inflight: Promise<void> | undefined;

  constructor(private readonly options: GitMirrorOptions) {}

  get gitDir(): string {
    return this.options.gitDir;
  }

  /** Brings the mirror's refs and objects up to the upstream's; rejects (GH_ERR_GIT_INSPECTION_FAILED) when it cannot. */
  refresh(): Promise<void> {
    this.inflight ??= this.fetch().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetch(): Promise<void> {
    const dir = this.options.gitDir;
    if (!(await exists(join(dir, 'HEAD')))) {
      await mkdir(dir, { recursive: true });
      await runGit(['init', '--quiet', '--bare', dir]);
    }
    const env: Record<string, string> = { GIT_DIR: dir };
    const config: [string, string][] = Object.entries((await this.options.headers?.()) ?? {}).map(([name, value]) => ['http.extraHeader', `${name}: ${value}`]);
    const ca = await this.options.caFile?.();
    // Replaces the default roots, as the proxied requests' `ca` does.
    if (ca !== undefined) config.push(['http.sslCAInfo', ca]);
    env.GIT_CONFIG_COUNT = String(config.length);
    config.forEach(([key, value], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = key;
      env[`GIT_CONFIG_VALUE_${i}`] = value;
    });
    await runGit(['fetch', '--quiet', '--prune', '--no-tags', '--no-write-fetch-head', this.options.upstreamUrl, '+refs/*:refs/*'], { env, timeoutMs: this.options.timeoutMs ?? 120_000 });
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}
