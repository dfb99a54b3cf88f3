import { Match, Template } from 'aws-cdk-lib/assertions';
import { OidcFederationRole } from '../../../constructs/aws/oidc-federation-role';
import { newStack } from './helpers';

const GITHUB = 'https://token.actions.githubusercontent.com';

describe('OidcFederationRole', () => {
  test('a native IAM OIDC provider and a role pinned to audience and subject', () => {
    const stack = newStack();
    new OidcFederationRole(stack, 'Gh', { issuerUrl: GITHUB, subjects: ['repo:acme/api:ref:refs/heads/main'] });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::OIDCProvider', { Url: GITHUB, ClientIdList: ['sts.amazonaws.com'] });
    template.resourceCountIs('AWS::Lambda::Function', 0);
    template.hasResourceProperties('AWS::IAM::Role', {
      MaxSessionDuration: 3600,
      AssumeRolePolicyDocument: {
        Statement: [{
          Action: 'sts:AssumeRoleWithWebIdentity',
          Effect: 'Allow',
          Principal: { Federated: { Ref: Match.stringLikeRegexp('Provider') } },
          Condition: {
            StringEquals: {
              'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
              'token.actions.githubusercontent.com:sub': 'repo:acme/api:ref:refs/heads/main',
            },
          },
        }],
      },
    });
    template.resourceCountIs('AWS::IAM::Policy', 0);
  });

  test.each([
    ['no subjects', { issuerUrl: GITHUB, subjects: [] }, /at least one exact subject/],
    ['a match-all subject', { issuerUrl: GITHUB, subjects: ['*'] }, /has a wildcard/],
    ['a subject pattern', { issuerUrl: GITHUB, subjects: ['repo:acme/*:ref:refs/heads/main'] }, /has a wildcard; give exact subjects/],
    ['a plain-http issuer', { issuerUrl: 'http://issuer.example', subjects: ['x'] }, /https URL/],
  ])('refuses %s', (_n, props, message) => {
    expect(() => new OidcFederationRole(newStack(), 'F', props)).toThrow(message);
  });
});
