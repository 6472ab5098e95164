/**
 * cdk-nag (AwsSolutions) findings that the construct has by design, acknowledged with the reason
 * for each. A wildcard in a statement the template adds later has no reason here, so it stays a
 * finding and fails `cdk synth` (and the cdk-nag test) until one is written.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Apptrack } from './apptrack';

const PACK = 'AwsSolutions::AwsSolutions';

/** Why a statement of infra/template.yaml (by Sid) needs its wildcard resource. */
const WILDCARD_REASONS: Record<string, (apptrack: Apptrack) => string> = {
  ScaleOnlyGroupsTaggedForApptrack: () =>
    'SetDesiredCapacity on any Auto Scaling group of the account and region, but only where the group is tagged ' +
    'apptrack:managed=true (the statement\'s aws:ResourceTag condition): which groups apptrack scales is decided by tagging them.',
  ReplaceHotInstancesOnlyInGroupsTaggedToAllowIt: () =>
    'SetInstanceHealth on any Auto Scaling group of the account and region, but only where the group is tagged ' +
    'apptrack:replace-hot=true (the statement\'s aws:ResourceTag condition): a group opts in to hot-instance replacement by that tag.',
  ReadFunctionsAndAliases: () =>
    'deploy-guard reads the alias, versions and tags of whichever function a deployment moved (any function of the ' +
    'account and region); GetAlias, GetFunction and ListTags only read.',
  RollBackOnlyFunctionsTaggedForIt: () =>
    'UpdateAlias on any function of the account and region, but only where the function is tagged apptrack:rollback=auto ' +
    '(the statement\'s aws:ResourceTag condition): a function opts in to automatic rollback by that tag.',
  StopCodeDeployDeployments: () =>
    'deploy-guard stops whichever CodeDeploy deployment is shifting an opted-in alias (any deployment group of the ' +
    'account and region: the deployment names its group only at run time), and always with autoRollbackEnabled=true.',
  ReadGroups: () =>
    'autoscaling:DescribeAutoScalingGroups and DescribeAutoScalingInstances support no resource-level permissions.',
  ReadMetrics: () => 'cloudwatch:GetMetricData supports no resource-level permissions.',
  ReadAlarms: () =>
    'alarm-scaler reads the definition and tags of whichever alarm changed state (any alarm of the account and region); ' +
    'DescribeAlarms and ListTagsForResource only read.',
  ReadServiceAlarms: () =>
    'deploy-guard reads the definition and tags of the alarms tagged apptrack:service (any alarm of the account and ' +
    'region: tagging an alarm is what names a service\'s signal); DescribeAlarms and ListTagsForResource only read.',
  IncidentsAndLedger: indexReason,
  IncidentsEpisodesAndLedger: indexReason,
  Incidents: indexReason,
  IncidentsSilencesAndLedger: indexReason,
  PublishToEncryptedTopics: () =>
    'The notification topic is encrypted with the AWS managed key aws/sns (or the key of a topic passed in), whose key id ' +
    'the stack cannot name; the kms:ViaService condition limits its use to SNS in this region.',
  SendToEncryptedFailureQueue: () =>
    'The on-failure queue is encrypted with the AWS managed key aws/sqs, whose key id the stack cannot name; ' +
    'the kms:ViaService condition limits its use to SQS in this region.',
};

function indexReason(apptrack: Apptrack): string {
  const indexes = Object.values(apptrack.template.Resources)
    .flatMap((r) => ((r.Properties?.GlobalSecondaryIndexes ?? []) as { IndexName: string }[]).map((g) => g.IndexName));
  return `Queries the incidents table's own indexes (${indexes.join(', ')}); index/* is within that table.`;
}

const XRAY_REASON =
  'xray:PutTraceSegments and xray:PutTelemetryRecords (added by CDK for Tracing: Active, as SAM adds AWSXrayWriteOnlyAccess) support no resource-level permissions.';

/** cdk-nag's rendering of a resolved resource: `<Id.Attr>` for references, joined parts as text. */
function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('Ref' in o) return `<${String(o.Ref)}>`;
    if ('Fn::GetAtt' in o) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(sep);
    }
  }
  return JSON.stringify(value);
}

interface Statement {
  Sid?: string;
  Action: string | string[];
  Resource: unknown;
}

export function acknowledgeApptrackFindings(apptrack: Apptrack): void {
  const stack = Stack.of(apptrack);
  for (const f of Object.values(apptrack.functions)) {
    const role = f.function.role as iam.Role;
    Validations.of(role).acknowledge({
      id: `${PACK}-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]`,
      reason:
        'AWSLambdaBasicExecutionRole lets the function write its own logs (CreateLogStream, PutLogEvents), the policy ' +
        'SAM attaches to the same function; the log group is the function\'s, created by the construct.',
    });
    if (f.streams.length > 0) {
      Validations.of(role).acknowledge({
        id: `${PACK}-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole]`,
        reason:
          'AWSLambdaDynamoDBExecutionRole lets the function read the stream its event source mapping reads (DescribeStream, ' +
          'GetRecords, GetShardIterator, ListStreams), the policy SAM attaches to the same function for a DynamoDB event.',
      });
    }
    const policy = role.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined;
    if (!policy) continue;
    const doc = stack.resolve(policy.document.toJSON()) as { Statement: Statement[] };
    const reasons = new Map<string, string[]>();
    for (const s of doc.Statement) {
      const actions = [s.Action].flat();
      const reason = s.Sid
        ? WILDCARD_REASONS[s.Sid]?.(apptrack)
        : actions.every((a) => a.startsWith('xray:'))
          ? XRAY_REASON
          : undefined;
      if (!reason) continue;
      for (const r of [s.Resource].flat().map(render).filter((r) => r.includes('*'))) {
        const list = reasons.get(r) ?? [];
        if (!list.includes(reason)) list.push(reason);
        reasons.set(r, list);
      }
    }
    for (const [resource, why] of reasons) {
      Validations.of(policy).acknowledge({ id: `${PACK}-IAM5[Resource::${resource}]`, reason: why.join(' ') });
    }
    if (f.failureQueue) {
      Validations.of(f.failureQueue).acknowledge({
        id: `${PACK}-SQS3`,
        reason:
          `The queue is ${f.binary}'s on-failure destination, where events end after Lambda's retries; ` +
          'they are replayed from it with `apptrack dlq redrive`, and a queue behind it would hide them.',
      });
    }
  }
}
