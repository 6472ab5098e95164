/**
 * The construct follows the template: a function added there appears here with its trigger,
 * queue and IAM, and what the construct cannot translate stops the synth instead of being dropped.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { DEFAULT_TEMPLATE, parseTemplateText } from '../lib';
import { cargoCalls, sam, synth } from './helpers';

/** The repository's template with `change` applied, written next to the test's scratch files. */
function variant(name: string, change: (t: any) => void): string {
  const t = JSON.parse(JSON.stringify({ ...sam, path: undefined }));
  // CodeUri is relative to the template's folder; the copy lives elsewhere.
  t.Globals.Function.CodeUri = join(dirname(DEFAULT_TEMPLATE), String(sam.Globals.Function!.CodeUri));
  change(t);
  const path = join(dirname(cargoCalls), `${name}.json`);
  writeFileSync(path, JSON.stringify(t)); // JSON is YAML
  return path;
}

describe('short-form tags', () => {
  it('read as the long forms', () => {
    const t = parseTemplateText(
      'Resources:\n  A:\n    Type: X\n    Properties:\n      R: !Ref P\n      G: !GetAtt B.Arn\n      S: !Sub "${AWS::Region}-x"\n' +
        '      I: !If [C, !Select [0, !Split [",", !Ref L]], !Ref AWS::NoValue]\n',
    );
    assert.deepEqual(t.Resources.A.Properties, {
      R: { Ref: 'P' },
      G: { 'Fn::GetAtt': ['B', 'Arn'] },
      S: { 'Fn::Sub': '${AWS::Region}-x' },
      I: { 'Fn::If': ['C', { 'Fn::Select': [0, { 'Fn::Split': [',', { Ref: 'L' }] }] }, { Ref: 'AWS::NoValue' }] },
    });
  });
});

describe('a function added to the template', () => {
  const path = variant('new-function', (t) => {
    t.Parameters.DeployGuardDryRun = { Type: 'String', Default: 'false', AllowedValues: ['true', 'false'] };
    t.Resources.DeployGuardFunction = {
      Type: 'AWS::Serverless::Function',
      Metadata: { BuildMethod: 'rust-cargolambda', BuildProperties: { Binary: 'deploy-guard' } },
      Properties: {
        Environment: { Variables: { INCIDENTS_TABLE: { Ref: 'IncidentsTable' }, APPTRACK_DRY_RUN: { Ref: 'DeployGuardDryRun' } } },
        Events: { Deployments: { Type: 'EventBridgeRule', Properties: { Pattern: { source: ['aws.codedeploy'] } } } },
        EventInvokeConfig: {
          MaximumRetryAttempts: 2,
          DestinationConfig: { OnFailure: { Type: 'SQS', Destination: { 'Fn::GetAtt': ['DeployGuardFailureQueue', 'Arn'] } } },
        },
        Policies: [{ Statement: [{ Sid: 'Rollback', Effect: 'Allow', Action: 'lambda:UpdateAlias', Resource: '*' }] }],
      },
    };
    t.Resources.DeployGuardFailureQueue = { Type: 'AWS::SQS::Queue', Properties: { KmsMasterKeyId: 'alias/aws/sqs' } };
  });

  it('appears with its rule, queue, settings and IAM, with no edit of the construct', () => {
    const s = synth({ templatePath: path, parameters: { DeployGuardDryRun: 'true' } });
    const f = s.apptrack.functions['deploy-guard'];
    assert.ok(f, 'deploy-guard is missing');
    assert.equal(f.rules.length, 1);
    assert.ok(f.failureQueue);
    const id = s.cdkIdOf.get('DeployGuardFunction')!;
    const props = s.json.Resources[id].Properties;
    assert.equal(props.Environment.Variables.APPTRACK_DRY_RUN, 'true');
    assert.deepEqual(props.Architectures, ['arm64']);
    s.template.hasResourceProperties('AWS::Events::Rule', { EventPattern: { source: ['aws.codedeploy'] } });
    s.template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([{ Sid: 'Rollback', Action: 'lambda:UpdateAlias', Effect: 'Allow', Resource: '*' }]) },
    });
  });
});

describe('a table changed in the template', () => {
  it('changes the same way in the construct (stream, projections, a local index)', () => {
    const path = variant('table-change', (t) => {
      const p = t.Resources.IncidentsTable.Properties;
      p.StreamSpecification = { StreamViewType: 'NEW_AND_OLD_IMAGES' };
      p.GlobalSecondaryIndexes[0].Projection = { ProjectionType: 'INCLUDE', NonKeyAttributes: ['title', 'kind'] };
      p.GlobalSecondaryIndexes[1].Projection = { ProjectionType: 'KEYS_ONLY' };
      p.LocalSecondaryIndexes = [{ IndexName: 'by-last-seen', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'last_seen', KeyType: 'RANGE' }], Projection: { ProjectionType: 'ALL' } }];
      p.AttributeDefinitions.push({ AttributeName: 'last_seen', AttributeType: 'S' });
    });
    const s = synth({ templatePath: path });
    const got = s.json.Resources[s.cdkIdOf.get('IncidentsTable')!].Properties;
    assert.deepEqual(got.StreamSpecification, { StreamViewType: 'NEW_AND_OLD_IMAGES' });
    assert.deepEqual(got.GlobalSecondaryIndexes[0].Projection, { ProjectionType: 'INCLUDE', NonKeyAttributes: ['title', 'kind'] });
    assert.deepEqual(got.GlobalSecondaryIndexes[1].Projection, { ProjectionType: 'KEYS_ONLY' });
    assert.equal(got.LocalSecondaryIndexes[0].IndexName, 'by-last-seen');
    assert.ok(s.apptrack.tables.IncidentsTable.tableStreamArn);
  });
});

describe('what the construct cannot translate', () => {
  const cases: [string, (t: any) => void, RegExp][] = [
    ['a table property', (t) => (t.Resources.StateTable.Properties.ContributorInsightsSpecification = { Enabled: true }), /StateTable: ContributorInsightsSpecification not supported/],
    ['a function property', (t) => (t.Resources.LoginGuardFunction.Properties.VpcConfig = {}), /LoginGuardFunction: VpcConfig not supported/],
    ['an event type', (t) => (t.Resources.ErrorAnalyzerFunction.Properties.Events.QuietSweep.Type = 'SQS'), /event type SQS is not supported/],
    ['a SAM policy template', (t) => t.Resources.LoginGuardFunction.Properties.Policies.push({ DynamoDBCrudPolicy: { TableName: 'x' } }), /only inline/],
  ];
  for (const [what, change, error] of cases) {
    it(`stops the synth: ${what}`, () => {
      assert.throws(() => synth({ templatePath: variant(what.replace(/\W+/g, '-'), change) }), error);
    });
  }
});
