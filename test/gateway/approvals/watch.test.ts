import { PendingApprovalsWatch } from '../../../gateway/src/approvals/watch';
import type { Approval } from '../../../gateway/src/approvals/types';
import { silentLogger } from '../../../gateway/src/observability/logger';

/**
 * The replica's one poll of pending approvals. The interval is an hour, so every read here is
 * one the test caused (a subscription or a poke); reads resolve when the test says so.
 */
function harness() {
  const reads: Array<{ resolve(v: readonly Approval[]): void; reject(e: Error): void }> = [];
  const watch = new PendingApprovalsWatch({
    read: () => new Promise<readonly Approval[]>((resolve, reject) => reads.push({ resolve, reject })),
    intervalMs: 3_600_000,
    logger: silentLogger(),
  });
  const settle = () => new Promise((r) => setImmediate(r));
  return { watch, reads, settle };
}

const approval = (id: string) => ({ id, votes: [] }) as unknown as Approval;

describe('PendingApprovalsWatch', () => {
  it('serves any number of subscribers from one read, and a late subscriber from the newest read', async () => {
    const { watch, reads, settle } = harness();
    const seen: string[][] = [[], [], [], [], [], []];
    const offs = seen.slice(0, 5).map((s) => watch.subscribe((p) => s.push(p.map((a) => a.id).join(','))));
    expect(reads).toHaveLength(1); // five tabs, one read
    reads[0]!.resolve([approval('ap_1')]);
    await settle();
    expect(seen.slice(0, 5)).toEqual(Array(5).fill(['ap_1']));
    offs.push(watch.subscribe((p) => seen[5]!.push(p.map((a) => a.id).join(','))));
    expect(reads).toHaveLength(1);
    expect(seen[5]).toEqual(['ap_1']);
    watch.poke();
    reads[1]!.resolve([]);
    await settle();
    expect(seen.map((s) => s.at(-1))).toEqual(Array(6).fill(''));
    expect(reads).toHaveLength(2);
    for (const off of offs) off();
    watch.close();
  });

  it('folds pokes during a read into one more read, and stops reading when nobody subscribes', async () => {
    const { watch, reads, settle } = harness();
    const off = watch.subscribe(() => undefined);
    watch.poke();
    watch.poke();
    watch.poke();
    expect(reads).toHaveLength(1);
    reads[0]!.resolve([]);
    await settle();
    expect(reads).toHaveLength(2);
    reads[1]!.resolve([]);
    await settle();
    expect(reads).toHaveLength(2);
    off();
    expect(watch.subscribers).toBe(0);
    watch.poke();
    expect(reads).toHaveLength(2);
  });

  it('keeps going after a failed read', async () => {
    const { watch, reads, settle } = harness();
    const seen: number[] = [];
    const off = watch.subscribe((p) => seen.push(p.length));
    reads[0]!.reject(new Error('store down'));
    await settle();
    expect(seen).toEqual([]);
    watch.poke();
    reads[1]!.resolve([approval('ap_2')]);
    await settle();
    expect(seen).toEqual([1]);
    off();
  });
});
