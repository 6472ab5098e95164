/**
 * `Apptrack`: every resource of infra/template.yaml as CDK constructs, derived from the template
 * at synth time, so a table, function, trigger or IAM statement added there appears here.
 */
import { dirname, join, resolve } from 'node:path';
import { CfnOutput, CfnResource, Duration, Token } from 'aws-cdk-lib';
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
import { enumValue, logGroupFrom, optional, queueFrom, removalPolicy, tableFrom } from './resources';
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
  /** The EventBridge rules that trigger it (its `Events` of type EventBridgeRule and Schedule). */
  readonly rules: events.Rule[];
  /** Its stream triggers (its `Events` of type DynamoDB), as event source mappings. */
  readonly streams: lambda.CfnEventSourceMapping[];
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
    const lookup: Scope = {
      parameter: (name) => this.parameters.value(name),
      attribute: (logicalId, attribute) => this.attribute(logicalId, attribute),
      condition: (name) => this.condition(name),
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
    const rules: events.Rule[] = [];
    const streams: lambda.CfnEventSourceMapping[] = [];
    for (const [name, e] of Object.entries((p.Events ?? {}) as JsonObject)) {
      const event = e as JsonObject;
      if (event.Type === 'DynamoDB') streams.push(this.stream(fn, spec.logicalId + name, event));
      else rules.push(this.rule(fn, spec.logicalId + name, event));
    }
    const subs = this.subscribe(fn, spec);
    const built: ApptrackFunction = { logicalId: spec.logicalId, binary: spec.binary, function: fn, failureQueue, rules, streams, subscriptions: subs };
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
      enabled: p.Enabled === undefined ? undefined : p.Enabled === true || p.Enabled === 'true',
      description: typeof p.Description === 'string' ? p.Description : undefined,
      targets: [new targets.LambdaFunction(fn, { event: input })],
    });
  }

  /**
   * A SAM `DynamoDB` event as SAM makes it: the event source mapping with the same properties,
   * and the managed AWSLambdaDynamoDBExecutionRole on the role (stream reads). Its OnFailure
   * queue must be the function's own (EventInvokeConfig's), whose SendMessage grant covers it.
   */
  private stream(fn: lambda.Function, id: string, event: JsonObject): lambda.CfnEventSourceMapping {
    const p = this.resolved(event.Properties ?? {}, id) as Record<string, any>;
    const keys = [
      'Stream', 'StartingPosition', 'BatchSize', 'MaximumBatchingWindowInSeconds', 'FunctionResponseTypes',
      'MaximumRetryAttempts', 'MaximumRecordAgeInSeconds', 'BisectBatchOnFunctionError', 'FilterCriteria', 'DestinationConfig', 'Enabled',
    ];
    const unknown = Object.keys(p).filter((k) => !keys.includes(k));
    if (unknown.length > 0) throw new Error(`${id}: ${unknown.join(', ')} not supported by the construct`);
    const onFailure = p.DestinationConfig?.OnFailure;
    if (onFailure && onFailure.Type !== 'SQS') throw new Error(`${id}: only SQS on-failure destinations are supported`);
    fn.role?.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaDynamoDBExecutionRole'));
    return new lambda.CfnEventSourceMapping(this, id, {
      functionName: fn.functionName,
      eventSourceArn: p.Stream,
      startingPosition: p.StartingPosition,
      batchSize: p.BatchSize,
      maximumBatchingWindowInSeconds: p.MaximumBatchingWindowInSeconds,
      functionResponseTypes: p.FunctionResponseTypes,
      maximumRetryAttempts: p.MaximumRetryAttempts,
      maximumRecordAgeInSeconds: p.MaximumRecordAgeInSeconds,
      bisectBatchOnFunctionError: p.BisectBatchOnFunctionError,
      enabled: p.Enabled,
      filterCriteria: p.FilterCriteria && {
        filters: (p.FilterCriteria.Filters as { Pattern: string }[]).map((f) => ({ pattern: f.Pattern })),
      },
      destinationConfig: onFailure && { onFailure: { destination: onFailure.Destination } },
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

/** EventBridge's pattern keys (`detail-type`) as the L2 EventPattern's (`detailType`). */
function eventPattern(pattern: Record<string, unknown>): events.EventPattern {
  return Object.fromEntries(Object.entries(pattern).map(([k, v]) => [k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()), v]));
}

