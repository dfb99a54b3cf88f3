import { slackWebhook } from '../../../../gateway/src/masking/detectors/slack-webhook';

const HOOK = 'https://hooks.slack.com/services/T024BE7LD/B09ABCDEF12/k3Yq9ZrT4mPw8XvL2nHs6JdC';

const found = (text: string): string[] => slackWebhook.find(text).map((d) => text.slice(d.start, d.end));

describe('slack-webhook', () => {
  it.each([
    [`SLACK_WEBHOOK_URL=${HOOK}`, HOOK],
    [`curl -X POST -d '{"text":"hi"}' ${HOOK}`, HOOK],
  ])('finds exactly the value in %s', (text: string, value: string) => {
    expect(found(text)).toEqual([value]);
  });
  it.each([
    ['https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXX'],
    ['https://acme.slack.com/archives/C024BE91L/p1700000000000100'],
    ['see https://api.slack.com/messaging/webhooks'],
  ])('ignores %s', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = slackWebhook.find(`SLACK_WEBHOOK_URL=${HOOK}`)[0]!;
    expect(d.rule).toBe(slackWebhook.id);
    expect(d.type).toBe(slackWebhook.type);
    expect(d.end - d.start).toBeLessThanOrEqual(slackWebhook.maxLength);
  });
});
