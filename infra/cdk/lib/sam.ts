/**
 * What the construct reads from the SAM template: its Rust functions (with the Globals applied
 * as SAM applies them) and which parameters feed each function's log subscriptions.
 */
import type { Json, JsonObject, SamResource, SamTemplate } from './template';

export const SERVERLESS_FUNCTION = 'AWS::Serverless::Function';

/** A function of the template that cargo-lambda builds. */
export interface RustFunctionSpec {
  readonly logicalId: string;
  /** `BuildProperties.Binary`: the Cargo binary, also the function's short name. */
  readonly binary: string;
  /** The function's Properties with `Globals.Function` applied. */
  readonly properties: JsonObject;
}

/** A function's log subscriptions: the parameters naming the groups and the filter pattern. */
export interface SubscriptionSpec {
  readonly functionId: string;
  readonly logGroupParameters: string[];
  readonly filterPattern: Json;
}

function isObject(v: Json | undefined): v is JsonObject {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);
}

/** SAM's Globals rule: maps merge, lists append, a function's own scalar wins. */
export function mergeGlobals(globals: Json | undefined, own: Json | undefined): Json | undefined {
  if (own === undefined) return globals;
  if (globals === undefined) return own;
  if (isObject(globals) && isObject(own)) {
    const out: JsonObject = { ...globals };
    for (const [k, v] of Object.entries(own)) out[k] = mergeGlobals(globals[k], v) as Json;
    return out;
  }
  if (Array.isArray(globals) && Array.isArray(own)) return [...globals, ...own];
  return own;
}

export function rustFunctions(template: SamTemplate): RustFunctionSpec[] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === SERVERLESS_FUNCTION && r.Metadata?.BuildMethod === 'rust-cargolambda')
    .map(([logicalId, r]) => {
      const build = r.Metadata?.BuildProperties;
      const binary = isObject(build) ? build.Binary : undefined;
      if (typeof binary !== 'string' || !binary) throw new Error(`${logicalId}: Metadata.BuildProperties.Binary is missing`);
      const properties = mergeGlobals(template.Globals.Function ?? {}, r.Properties ?? {}) as JsonObject;
      return { logicalId, binary, properties };
    });
}

/** The names every `Ref` inside `value` names. */
export function refsIn(value: Json | undefined): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (!isObject(value)) return [];
  if (typeof value.Ref === 'string' && Object.keys(value).length === 1) return [value.Ref];
  return Object.values(value).flatMap(refsIn);
}

/** The function `!GetAtt F.Arn` (or `!Ref F`) names. */
function functionOf(value: Json | undefined, where: string): string {
  if (isObject(value)) {
    const att = value['Fn::GetAtt'];
    if (Array.isArray(att) && att[1] === 'Arn') return String(att[0]);
    if (typeof value.Ref === 'string') return value.Ref;
  }
  throw new Error(`${where}: expected !GetAtt <Function>.Arn, got ${JSON.stringify(value)}`);
}

/**
 * Log subscriptions per function, from the template's `AWS::Logs::SubscriptionFilter`
 * resources (one per slot there, any number in the construct).
 */
export function subscriptions(template: SamTemplate): Map<string, SubscriptionSpec> {
  const out = new Map<string, SubscriptionSpec>();
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Logs::SubscriptionFilter') continue;
    const p = r.Properties ?? {};
    const functionId = functionOf(p.DestinationArn, id);
    const groups = refsIn(p.LogGroupName).filter((n) => n in template.Parameters);
    if (groups.length === 0) throw new Error(`${id}: LogGroupName names no template parameter`);
    const spec = out.get(functionId) ?? { functionId, logGroupParameters: [], filterPattern: p.FilterPattern ?? '' };
    if (JSON.stringify(spec.filterPattern) !== JSON.stringify(p.FilterPattern ?? '')) {
      throw new Error(`${id}: the subscriptions of ${functionId} use different filter patterns`);
    }
    for (const g of groups) if (!spec.logGroupParameters.includes(g)) spec.logGroupParameters.push(g);
    out.set(functionId, spec);
  }
  return out;
}

/** The permissions that only let CloudWatch Logs invoke a subscribed function (CDK adds its own). */
export function isLogsPermission(r: SamResource): boolean {
  return r.Type === 'AWS::Lambda::Permission' && r.Properties?.Principal === 'logs.amazonaws.com';
}
