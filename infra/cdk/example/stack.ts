/**
 * The example: apptrack beside an application's own resources (its log groups, an alert
 * topic), checked by cdk-nag's AwsSolutions pack.
 */
import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { Apptrack } from '../lib';
import { acknowledgeApptrackFindings } from '../lib/nag';

export interface ExampleStackProps extends StackProps {
  /** Acknowledge the construct's by-design cdk-nag findings (the test turns it off to see them). @default true */
  readonly acknowledgeFindings?: boolean;
}

export class ExampleStack extends Stack {
  readonly apptrack: Apptrack;

  constructor(scope: Construct, id: string, props: ExampleStackProps = {}) {
    super(scope, id, props);
    // The application apptrack watches: its logs and its authentication log.
    const appLogs = new logs.LogGroup(this, 'CheckoutLogs', {
      logGroupName: '/example/checkout',
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const authLogs = new logs.LogGroup(this, 'AuthLogs', {
      logGroupName: '/example/auth',
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Where apptrack reports its own failures: encrypted (SNS2), TLS only (SNS3). CloudWatch
    // alarms cannot publish to a topic under the AWS managed aws/sns key (its key policy does
    // not let them), so the topic has its own key, rotated (KMS5), that CloudWatch may use.
    const alertsKey = new kms.Key(this, 'AlertsKey', {
      description: 'apptrack example: the alert topic key',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    alertsKey.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    const alerts = new sns.Topic(this, 'Alerts', { masterKey: alertsKey, enforceSSL: true });
    alerts.addToResourcePolicy(new iam.PolicyStatement({
      actions: ['sns:Publish'],
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      resources: [alerts.topicArn],
      conditions: { ArnLike: { 'aws:SourceArn': `arn:${this.partition}:cloudwatch:${this.region}:${this.account}:alarm:*` } },
    }));

    this.apptrack = new Apptrack(this, 'Apptrack', {
      alertTopic: alerts,
      errorAnalyzerLogGroups: [appLogs],
      loginGuardAuthLogGroups: [authLogs],
      alarmScalerDryRun: true,
      loginGuardDryRun: true,
    });
    if (props.acknowledgeFindings ?? true) acknowledgeApptrackFindings(this.apptrack);
  }
}
