import { slackToken } from '../../../../gateway/src/masking/detectors/slack-token';

const found = (text: string): string[] => slackToken.find(text).map((d) => text.slice(d.start, d.end));

describe('slack-token', () => {
  it('finds exactly the value in `SLACK_BOT_TOKEN=${xoxb- + 123456789012-1234567890', () => {
    expect(found(`SLACK_BOT_TOKEN=${'xoxb-' + '123456789012-1234567890123-' + 'aBcD'.repeat(6)}`)).toEqual(['xoxb-' + '123456789012-1234567890123-' + 'aBcD'.repeat(6)]);
  });
  it.each([
    ['xoxo-hugs-and-kisses-forever'],
    ['xoxb-abcdefghijklmnop'],
  ])('ignores %j', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = slackToken.find(`SLACK_BOT_TOKEN=${'xoxb-' + '123456789012-1234567890123-' + 'aBcD'.repeat(6)}`)[0]!;
    expect(d.rule).toBe(slackToken.id);
    expect(d.type).toBe(slackToken.type);
    expect(Number.isFinite(slackToken.maxLength)).toBe(true);
    expect(d.end - d.start).toBeLessThanOrEqual(slackToken.maxLength);
  });
});
