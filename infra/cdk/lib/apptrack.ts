/**
 * `Apptrack`: every resource of infra/template.yaml as CDK constructs, derived from the template
 * at synth time, so a table, function, trigger or IAM statement added there appears here.
 */
import { dirname, join, resolve } from 'node:path';
import { CfnOutput, CfnResource, Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as logsDestinations from 'aws-cdk-lib/aws-logs-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct, type IConstruct } from 'constructs';
import { Resolver, type Resolved, type Scope } from './intrinsics';
import { Parameters } from './parameters';
import type { ApptrackProps } from './props';
import { isLogsPermission, rustFunctions, subscriptions, type RustFunctionSpec, type SubscriptionSpec } from './sam';
import { loadTemplate, type Json, type JsonObject, type SamResource, type SamTemplate } from './template';

/** The repository's SAM template, next to this package. */
export const DEFAULT_TEMPLATE = resolve(__dirname, '..', '..', 'template.yaml');

/** One of the template's functions as built here. */
export interface ApptrackFunction {
  /** The template's logical id (`AlarmScalerFunction`). */
  readonly logicalId: string;
  /** The Cargo binary (`alarm-scaler`). */
  readonly binary: string;
  readonly function: lambda.Function;
  /** Its on-failure queue, when the template gives it one. */
  readonly failureQueue?: sqs.IQueue;
  /** The EventBridge rules that trigger it (its `Events`). */
  readonly rules: events.Rule[];
  /** Its log subscriptions (one per log group passed in). */
  readonly subscriptions: logs.SubscriptionFilter[];
}

export class Apptrack extends Construct {
  /** The template the construct was derived from. */
  readonly template: SamTemplate;
  /** The tables by their template logical id (`IncidentsTable`, `StateTable`). */
  readonly tables: Record<string, dynamodb.Table> = {};
  /** The functions by binary name (`alarm-scaler`, ...). */
  readonly functions: Record<string, ApptrackFunction> = {};
  /** Every construct made from a template resource, by the resource's logical id. */
  readonly resources: Record<string, IConstruct> = {};

  private readonly parameters: Parameters;
  private readonly resolver: Resolver;
  private readonly conditions = new Map<string, boolean>();
  private readonly building = new Set<string>();
  private readonly subscriptionSpecs: Map<string, SubscriptionSpec>;
  private readonly rustSpecs: Map<string, RustFunctionSpec>;

  constructor(scope: Construct, id: string, private readonly props: ApptrackProps = {}) {
    super(scope, id);
    this.template = loadTemplate(props.templatePath ?? DEFAULT_TEMPLATE);
    this.parameters = new Parameters(this, this.template, props);
    this.subscriptionSpecs = subscriptions(this.template);
    this.rustSpecs = new Map(rustFunctions(this.template).map((f) => [f.logicalId, f]));
    const self = this;
    const lookup: Scope = {
      parameter: (name) => self.parameters.value(name),
      attribute: (logicalId, attribute) => self.attribute(logicalId, attribute),
      condition: (name) => self.condition(name),
    };
    this.resolver = new Resolver(lookup);

    for (const logicalId of Object.keys(this.template.Resources)) this.build(logicalId);
    for (const [name, output] of Object.entries(this.template.Outputs)) {
      new CfnOutput(this, name, {
        value: this.resolver.string(output.Value, `Outputs.${name}`),
        description: typeof output.Description === 'string' ? output.Description : undefined,
      });
    }
  }

  private condition(name: string): boolean {
    let value = this.conditions.get(name);
    if (value === undefined) {
      if (!(name in this.template.Conditions)) throw new Error(`no condition ${name} in the template`);
      value = this.resolver.truth(this.template.Conditions[name], `Conditions.${name}`);
      this.conditions.set(name, value);
    }
    return value;
  }

  /** A `Ref` or `Fn::GetAtt` of a template resource, building the resource first if need be. */
  private attribute(logicalId: string, attribute?: string): string {
    const c = this.build(logicalId);
    if (!c) throw new Error(`${logicalId} is referenced but not built (no such resource, or its condition is false)`);
    const what = `${logicalId}${attribute ? '.' + attribute : ''}`;
    if (c instanceof dynamodb.Table) {
      if (!attribute) return c.tableName;
      if (attribute === 'Arn') return c.tableArn;
      if (attribute === 'StreamArn' && c.tableStreamArn) return c.tableStreamArn;
    } else if (c instanceof lambda.Function) {
      if (!attribute) return c.functionName;
      if (attribute === 'Arn') return c.functionArn;
    } else if (c instanceof sqs.Queue) {
      if (!attribute) return c.queueUrl;
      if (attribute === 'Arn') return c.queueArn;
      if (attribute === 'QueueName') return c.queueName;
    } else if (c instanceof logs.LogGroup) {
      if (!attribute) return c.logGroupName;
      if (attribute === 'Arn') return c.logGroupArn;
    } else if (c instanceof CfnResource) {
      return attribute ? c.getAtt(attribute).toString() : c.ref;
    }
    throw new Error(`${what} is not supported by the construct`);
  }

  /** Builds a template resource once; undefined when it has no construct of its own here. */
  private build(logicalId: string): IConstruct | undefined {
    if (logicalId in this.resources) return this.resources[logicalId];
    const r = this.template.Resources[logicalId];
    if (!r) return undefined;
    if (this.building.has(logicalId)) throw new Error(`${logicalId}: circular reference`);
    // Subscriptions come from the log groups passed as props, each with its own permission.
    if (r.Type === 'AWS::Logs::SubscriptionFilter' || isLogsPermission(r)) return undefined;
    if (r.Condition && !this.condition(r.Condition)) return undefined;
    this.building.add(logicalId);
    try {
      const c = this.make(logicalId, r);
      this.resources[logicalId] = c;
      return c;
    } finally {
      this.building.delete(logicalId);
    }
  }

  private make(logicalId: string, r: SamResource): IConstruct {
    switch (r.Type) {
      case 'AWS::DynamoDB::Table':
        return (this.tables[logicalId] = tableFrom(this, logicalId, r));
      case 'AWS::Logs::LogGroup':
        return logGroupFrom(this, logicalId, r);
      case 'AWS::SQS::Queue':
        return queueFrom(this, logicalId, r);
      case 'AWS::Serverless::Function': {
        const spec = this.rustSpecs.get(logicalId);
        if (!spec) throw new Error(`${logicalId}: only functions with BuildMethod rust-cargolambda are supported`);
        return this.rustFunction(spec).function;
      }
      default: {
        if (r.Type.startsWith('AWS::Serverless::')) throw new Error(`${logicalId}: ${r.Type} is not supported by the construct`);
        // Plain CloudFormation (the self-monitoring alarms): the same properties, references resolved.
        const c = new CfnResource(this, logicalId, {
          type: r.Type,
          properties: this.resolved(r.Properties ?? {}, logicalId) as Record<string, unknown>,
        });
        for (const dep of [r.DependsOn ?? []].flat()) {
          const d = this.build(dep);
          if (d) c.node.addDependency(d);
        }
        if (r.DeletionPolicy) c.applyRemovalPolicy(removalPolicy(r, logicalId));
        return c;
      }
    }
  }

  private resolved(value: Json, where: string): Resolved {
    try {
      return this.resolver.resolve(value);
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
  }

  private rustFunction(spec: RustFunctionSpec): ApptrackFunction {
    const p = spec.properties;
    const where = spec.logicalId;
    const known = new Set([
      'CodeUri', 'Handler', 'Runtime', 'Architectures', 'MemorySize', 'Timeout', 'Tracing', 'LoggingConfig',
      'Description', 'ReservedConcurrentExecutions', 'Environment', 'Events', 'EventInvokeConfig', 'Policies',
    ]);
    const unknown = Object.keys(p).filter((k) => !known.has(k));
    if (unknown.length > 0) throw new Error(`${where}: ${unknown.join(', ')} not supported by the construct (lib/apptrack.ts)`);
    if (p.Handler !== 'bootstrap') throw new Error(`${where}: Handler must be bootstrap`);
    if (p.Runtime !== 'provided.al2023' && p.Runtime !== 'provided.al2') throw new Error(`${where}: Runtime ${String(p.Runtime)} is not a Rust runtime`);
    const archs = (p.Architectures ?? ['x86_64']) as string[];
    if (archs.length !== 1) throw new Error(`${where}: exactly one architecture expected`);
    const architecture = archs[0] === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;

    const logging = (p.LoggingConfig ?? {}) as JsonObject;
    const logGroup = logging.LogGroup === undefined ? undefined : this.logGroupRef(logging.LogGroup, where);
    const env = ((p.Environment as JsonObject | undefined)?.Variables ?? {}) as JsonObject;
    const environment = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, this.resolver.string(v, `${where}.Environment.${k}`)]),
    );
    const codeUri = typeof p.CodeUri === 'string' ? p.CodeUri : '.';
    const fn = new RustFunction(this, spec.logicalId, {
      manifestPath: join(resolve(dirname(this.template.path), codeUri), 'Cargo.toml'),
      binaryName: spec.binary,
      runtime: p.Runtime as 'provided.al2023',
      architecture,
      bundling: { ...this.props.bundling, architecture },
      description: optional(p.Description, (v) => this.resolver.string(v, `${where}.Description`)),
      memorySize: optional(p.MemorySize, Number),
      timeout: optional(p.Timeout, (v) => Duration.seconds(Number(v))),
      reservedConcurrentExecutions: optional(p.ReservedConcurrentExecutions, Number),
      tracing: optional(p.Tracing, (v) => enumValue(lambda.Tracing, String(v).toUpperCase().replace('PASSTHROUGH', 'PASS_THROUGH'), `${where}.Tracing`)),
      loggingFormat: optional(logging.LogFormat, (v) => enumValue(lambda.LoggingFormat, String(v).toUpperCase(), `${where}.LogFormat`)),
      applicationLogLevelV2: optional(logging.ApplicationLogLevel, (v) => enumValue(lambda.ApplicationLogLevel, String(v), `${where}.ApplicationLogLevel`)),
      systemLogLevelV2: optional(logging.SystemLogLevel, (v) => enumValue(lambda.SystemLogLevel, String(v), `${where}.SystemLogLevel`)),
      logGroup,
      environment,
    });
    // Register before the triggers, which may refer back to the function.
    this.resources[spec.logicalId] = fn;

    const failureQueue = this.asyncInvoke(fn, p.EventInvokeConfig as JsonObject | undefined, where);
    for (const [i, policy] of ((p.Policies ?? []) as Json[]).entries()) {
      const statements = (policy as JsonObject | null)?.Statement;
      if (!Array.isArray(statements)) {
        throw new Error(`${where}.Policies[${i}]: only inline { Statement: [...] } policies are supported (not SAM policy templates or managed policy names)`);
      }
      for (const s of statements) {
        fn.addToRolePolicy(iam.PolicyStatement.fromJson(this.resolved(s, `${where}.Policies[${i}]`)));
      }
    }
    const rules = Object.entries((p.Events ?? {}) as JsonObject).map(([name, e]) => this.rule(fn, spec.logicalId + name, e as JsonObject));
    const subs = this.subscribe(fn, spec);
    const built: ApptrackFunction = { logicalId: spec.logicalId, binary: spec.binary, function: fn, failureQueue, rules, subscriptions: subs };
    this.functions[spec.binary] = built;
    return built;
  }

  private logGroupRef(value: Json, where: string): logs.ILogGroup {
    const name = typeof value === 'object' && value !== null && !Array.isArray(value) ? value.Ref : undefined;
    const c = typeof name === 'string' ? this.build(name) : undefined;
    if (!(c instanceof logs.LogGroup)) throw new Error(`${where}.LoggingConfig.LogGroup: expected !Ref to a log group of the template`);
    return c;
  }

  private asyncInvoke(fn: lambda.Function, config: JsonObject | undefined, where: string): sqs.IQueue | undefined {
    if (!config) return undefined;
    const dest = (config.DestinationConfig ?? {}) as JsonObject;
    if (dest.OnSuccess) throw new Error(`${where}: EventInvokeConfig OnSuccess is not supported by the construct`);
    let queue: sqs.IQueue | undefined;
    const onFailure = dest.OnFailure as JsonObject | undefined;
    if (onFailure) {
      if (onFailure.Type !== 'SQS') throw new Error(`${where}: only SQS on-failure destinations are supported`);
      const att = (onFailure.Destination as JsonObject | undefined)?.['Fn::GetAtt'];
      const c = Array.isArray(att) ? this.build(String(att[0])) : undefined;
      if (!(c instanceof sqs.Queue)) throw new Error(`${where}: OnFailure.Destination must be !GetAtt <Queue>.Arn of the template`);
      queue = c;
    }
    fn.configureAsyncInvoke({
      retryAttempts: optional(config.MaximumRetryAttempts, Number),
      maxEventAge: optional(config.MaximumEventAgeInSeconds, (v) => Duration.seconds(Number(v))),
      onFailure: queue && new SendOnlyQueueDestination(queue),
    });
    return queue;
  }

  /** One SAM event source as an EventBridge rule. */
  private rule(fn: lambda.Function, id: string, event: JsonObject): events.Rule {
    const p = this.resolved(event.Properties ?? {}, id) as Record<string, unknown>;
    const allowed: Record<string, string[]> = {
      EventBridgeRule: ['Pattern', 'Input'],
      Schedule: ['Schedule', 'Input', 'Enabled', 'Description'],
    };
    const keys = allowed[String(event.Type)];
    if (!keys) throw new Error(`${id}: event type ${String(event.Type)} is not supported by the construct`);
    const unknown = Object.keys(p).filter((k) => !keys.includes(k));
    if (unknown.length > 0) throw new Error(`${id}: ${unknown.join(', ')} not supported by the construct`);
    const input = typeof p.Input === 'string' ? events.RuleTargetInput.fromObject(JSON.parse(p.Input)) : undefined;
    return new events.Rule(this, id, {
      eventPattern: p.Pattern === undefined ? undefined : eventPattern(p.Pattern as Record<string, unknown>),
      schedule: typeof p.Schedule === 'string' ? events.Schedule.expression(p.Schedule) : undefined,
      enabled: p.Enabled === undefined ? undefined : Boolean(p.Enabled),
      description: typeof p.Description === 'string' ? p.Description : undefined,
      targets: [new targets.LambdaFunction(fn, { event: input })],
    });
  }

  private subscribe(fn: lambda.Function, spec: RustFunctionSpec): logs.SubscriptionFilter[] {
    const sub = this.subscriptionSpecs.get(spec.logicalId);
    if (!sub) return [];
    const pattern = this.resolver.string(sub.filterPattern, `${spec.logicalId} FilterPattern`);
    const groups = this.parameters.logGroups(sub.logGroupParameters);
    const ids = new Set<string>();
    return groups.map((group, i) => {
      const name = group.logGroupName;
      let id = `${spec.logicalId}Subscription` + (Token.isUnresolved(name) ? String(i + 1) : name.replace(/[^A-Za-z0-9]+/g, '-'));
      while (ids.has(id)) id += `-${i + 1}`;
      ids.add(id);
      return new logs.SubscriptionFilter(this, id, {
        logGroup: group,
        destination: new logsDestinations.LambdaDestination(fn),
        filterPattern: pattern === '' ? logs.FilterPattern.allEvents() : logs.FilterPattern.literal(pattern),
      });
    });
  }
}

/**
 * An SQS on-failure destination granting what SAM grants for one: `sqs:SendMessage` on the
 * queue (CDK's SqsDestination adds GetQueueAttributes and GetQueueUrl, which Lambda does not use).
 */
class SendOnlyQueueDestination implements lambda.IDestination {
  constructor(private readonly queue: sqs.IQueue) {}

  bind(_scope: Construct, fn: lambda.IFunction): lambda.DestinationConfig {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
    return { destination: this.queue.queueArn };
  }
}

function optional<T>(value: Json | undefined, f: (v: Json) => T): T | undefined {
  return value === undefined || value === null ? undefined : f(value);
}

function enumValue<E extends Record<string, string>>(e: E, key: string, where: string): E[keyof E] {
  if (!(key in e)) throw new Error(`${where}: ${key} is not one of ${Object.keys(e).join(', ')}`);
  return e[key as keyof E];
}

/** EventBridge's pattern keys (`detail-type`) as the L2 EventPattern's (`detailType`). */
function eventPattern(pattern: Record<string, unknown>): events.EventPattern {
  return Object.fromEntries(Object.entries(pattern).map(([k, v]) => [k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()), v]));
}

/** CloudFormation's default for a resource without a DeletionPolicy is Delete. */
function removalPolicy(r: SamResource, where: string): RemovalPolicy {
  const policy = r.DeletionPolicy ?? 'Delete';
  if ((r.UpdateReplacePolicy ?? policy) !== policy) throw new Error(`${where}: DeletionPolicy and UpdateReplacePolicy differ`);
  const map: Record<string, RemovalPolicy> = { Delete: RemovalPolicy.DESTROY, Retain: RemovalPolicy.RETAIN, Snapshot: RemovalPolicy.SNAPSHOT };
  if (!(policy in map)) throw new Error(`${where}: DeletionPolicy ${policy} is not supported`);
  return map[policy];
}

function checkKeys(p: JsonObject, known: string[], where: string): void {
  const unknown = Object.keys(p).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new Error(`${where}: ${unknown.join(', ')} not supported by the construct (lib/apptrack.ts)`);
}

/** A table of the template as an L2 Table (so callers can grant access to it). */
export function tableFrom(scope: Construct, id: string, r: SamResource): dynamodb.Table {
  const p = r.Properties ?? {};
  checkKeys(p, [
    'BillingMode', 'AttributeDefinitions', 'KeySchema', 'GlobalSecondaryIndexes', 'LocalSecondaryIndexes',
    'TimeToLiveSpecification', 'PointInTimeRecoverySpecification', 'SSESpecification', 'StreamSpecification',
    'ProvisionedThroughput', 'DeletionProtectionEnabled', 'TableClass',
  ], id);
  const types = new Map(((p.AttributeDefinitions ?? []) as JsonObject[]).map((a) => [a.AttributeName as string, a.AttributeType as string]));
  const attr = (name: string): dynamodb.Attribute => {
    const t = types.get(name);
    const type = { S: dynamodb.AttributeType.STRING, N: dynamodb.AttributeType.NUMBER, B: dynamodb.AttributeType.BINARY }[t ?? ''];
    if (!type) throw new Error(`${id}: attribute ${name} has no AttributeDefinition`);
    return { name, type };
  };
  const keys = (schema: Json | undefined) => {
    const list = (schema ?? []) as JsonObject[];
    const hash = list.find((k) => k.KeyType === 'HASH');
    const range = list.find((k) => k.KeyType === 'RANGE');
    if (!hash) throw new Error(`${id}: a key schema without HASH key`);
    return { partitionKey: attr(String(hash.AttributeName)), sortKey: range ? attr(String(range.AttributeName)) : undefined };
  };
  const projection = (proj: Json | undefined) => {
    const pr = (proj ?? {}) as JsonObject;
    const type = String(pr.ProjectionType ?? 'ALL') as keyof typeof dynamodb.ProjectionType;
    return {
      projectionType: enumValue(dynamodb.ProjectionType, type, `${id} Projection`),
      nonKeyAttributes: pr.NonKeyAttributes as string[] | undefined,
    };
  };
  const sse = (p.SSESpecification ?? {}) as JsonObject;
  if (sse.KMSMasterKeyId !== undefined) throw new Error(`${id}: a customer managed table key is not supported yet`);
  const ttl = p.TimeToLiveSpecification as JsonObject | undefined;
  const stream = p.StreamSpecification as JsonObject | undefined;
  const throughput = p.ProvisionedThroughput as JsonObject | undefined;
  const pitr = (p.PointInTimeRecoverySpecification as JsonObject | undefined)?.PointInTimeRecoveryEnabled === true;
  const table = new dynamodb.Table(scope, id, {
    ...keys(p.KeySchema),
    billingMode: p.BillingMode === 'PAY_PER_REQUEST' ? dynamodb.BillingMode.PAY_PER_REQUEST : dynamodb.BillingMode.PROVISIONED,
    readCapacity: optional(throughput?.ReadCapacityUnits, Number),
    writeCapacity: optional(throughput?.WriteCapacityUnits, Number),
    timeToLiveAttribute: ttl?.Enabled === true ? String(ttl.AttributeName) : undefined,
    pointInTimeRecoverySpecification: pitr ? { pointInTimeRecoveryEnabled: true } : undefined,
    // SSEEnabled without a key: the AWS managed key (aws/dynamodb); absent: the AWS owned key.
    encryption: sse.SSEEnabled === true ? dynamodb.TableEncryption.AWS_MANAGED : dynamodb.TableEncryption.DEFAULT,
    stream: optional(stream?.StreamViewType, (v) => enumValue(dynamodb.StreamViewType, String(v), `${id} StreamViewType`)),
    deletionProtection: optional(p.DeletionProtectionEnabled, Boolean),
    tableClass: optional(p.TableClass, (v) => enumValue(dynamodb.TableClass, String(v), `${id} TableClass`)),
    removalPolicy: removalPolicy(r, id),
  });
  for (const g of (p.GlobalSecondaryIndexes ?? []) as JsonObject[]) {
    checkKeys(g, ['IndexName', 'KeySchema', 'Projection'], `${id} index`);
    table.addGlobalSecondaryIndex({ indexName: String(g.IndexName), ...keys(g.KeySchema), ...projection(g.Projection) });
  }
  for (const l of (p.LocalSecondaryIndexes ?? []) as JsonObject[]) {
    checkKeys(l, ['IndexName', 'KeySchema', 'Projection'], `${id} index`);
    const k = keys(l.KeySchema);
    if (!k.sortKey) throw new Error(`${id}: local index ${String(l.IndexName)} needs a RANGE key`);
    table.addLocalSecondaryIndex({ indexName: String(l.IndexName), sortKey: k.sortKey, ...projection(l.Projection) });
  }
  return table;
}

function logGroupFrom(scope: Construct, id: string, r: SamResource): logs.LogGroup {
  const p = r.Properties ?? {};
  checkKeys(p, ['RetentionInDays'], id);
  const days = optional(p.RetentionInDays, Number);
  if (days !== undefined && !Object.values(logs.RetentionDays).includes(days)) throw new Error(`${id}: RetentionInDays ${days} is not a CloudWatch Logs retention`);
  return new logs.LogGroup(scope, id, {
    retention: days === undefined ? logs.RetentionDays.INFINITE : (days as logs.RetentionDays),
    removalPolicy: removalPolicy(r, id),
  });
}

function queueFrom(scope: Construct, id: string, r: SamResource): sqs.Queue {
  const p = r.Properties ?? {};
  checkKeys(p, ['MessageRetentionPeriod', 'KmsMasterKeyId', 'VisibilityTimeout'], id);
  if (p.KmsMasterKeyId !== undefined && p.KmsMasterKeyId !== 'alias/aws/sqs') throw new Error(`${id}: only the AWS managed key alias/aws/sqs is supported`);
  return new sqs.Queue(scope, id, {
    retentionPeriod: optional(p.MessageRetentionPeriod, (v) => Duration.seconds(Number(v))),
    visibilityTimeout: optional(p.VisibilityTimeout, (v) => Duration.seconds(Number(v))),
    encryption: p.KmsMasterKeyId === undefined ? sqs.QueueEncryption.SQS_MANAGED : sqs.QueueEncryption.KMS_MANAGED,
    // Lambda's destination delivery uses TLS; this refuses anything else (cdk-nag AwsSolutions-SQS4).
    enforceSSL: true,
    removalPolicy: removalPolicy(r, id),
  });
}
