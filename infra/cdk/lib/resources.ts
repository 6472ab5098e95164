/**
 * The template's plain resources as L2 constructs (tables, log groups, queues), property by
 * property; a property not translated here stops the synth instead of being dropped.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { Json, JsonObject, SamResource } from './template';

export function optional<T>(value: Json | undefined, f: (v: Json) => T): T | undefined {
  return value === undefined || value === null ? undefined : f(value);
}

export function enumValue<E extends Record<string, string>>(e: E, key: string, where: string): E[keyof E] {
  if (!(key in e)) throw new Error(`${where}: ${key} is not one of ${Object.keys(e).join(', ')}`);
  return e[key as keyof E];
}

/** CloudFormation's default for a resource without a DeletionPolicy is Delete. */
export function removalPolicy(r: SamResource, where: string): RemovalPolicy {
  const policy = r.DeletionPolicy ?? 'Delete';
  if ((r.UpdateReplacePolicy ?? policy) !== policy) throw new Error(`${where}: DeletionPolicy and UpdateReplacePolicy differ`);
  const map: Record<string, RemovalPolicy> = { Delete: RemovalPolicy.DESTROY, Retain: RemovalPolicy.RETAIN, Snapshot: RemovalPolicy.SNAPSHOT };
  if (!(policy in map)) throw new Error(`${where}: DeletionPolicy ${policy} is not supported`);
  return map[policy];
}

export function checkKeys(p: JsonObject, known: string[], where: string): void {
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

export function logGroupFrom(scope: Construct, id: string, r: SamResource): logs.LogGroup {
  const p = r.Properties ?? {};
  checkKeys(p, ['RetentionInDays'], id);
  const days = optional(p.RetentionInDays, Number);
  if (days !== undefined && !Object.values(logs.RetentionDays).includes(days)) throw new Error(`${id}: RetentionInDays ${days} is not a CloudWatch Logs retention`);
  return new logs.LogGroup(scope, id, {
    retention: days === undefined ? logs.RetentionDays.INFINITE : (days as logs.RetentionDays),
    removalPolicy: removalPolicy(r, id),
  });
}

export function queueFrom(scope: Construct, id: string, r: SamResource): sqs.Queue {
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
