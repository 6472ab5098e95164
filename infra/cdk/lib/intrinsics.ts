/**
 * Evaluates the template's intrinsic functions at synth time: parameters are known then (they
 * are the construct's props), so conditions and `Fn::If` are decided here, and references to
 * resources become the CDK tokens of the constructs that stand for them.
 */
import { Aws, Fn, Token } from 'aws-cdk-lib';
import type { Json, JsonObject } from './template';

/** `AWS::NoValue`: the key or list item it stands in for is dropped. */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

/** A resolved value: plain data, CDK token strings inside, `NO_VALUE` where a value is left out. */
export type Resolved = string | number | boolean | null | typeof NO_VALUE | Resolved[] | { [key: string]: Resolved };

/** What a reference can name: the template's parameters and resources. */
export interface Scope {
  /** A parameter's value (a list for CommaDelimitedList), or undefined when `name` is no parameter. */
  parameter(name: string): string | string[] | undefined;
  /** `Ref` (attribute undefined) or `Fn::GetAtt` of a resource, as a CDK token. */
  attribute(logicalId: string, attribute?: string): string;
  /** A named condition's value. */
  condition(name: string): boolean;
}

const PSEUDO: Record<string, string> = {
  'AWS::Partition': Aws.PARTITION,
  'AWS::Region': Aws.REGION,
  'AWS::AccountId': Aws.ACCOUNT_ID,
  'AWS::StackName': Aws.STACK_NAME,
  'AWS::StackId': Aws.STACK_ID,
  'AWS::URLSuffix': Aws.URL_SUFFIX,
};

function isIntrinsic(value: Json): value is JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0] === 'Condition' || keys[0].startsWith('Fn::'));
}

export class Resolver {
  constructor(private readonly scope: Scope) {}

  /** Resolves every intrinsic in `value`. */
  resolve(value: Json): Resolved {
    if (Array.isArray(value)) {
      return value.map((v) => this.resolve(v)).filter((v) => v !== NO_VALUE);
    }
    if (value === null || typeof value !== 'object') return value;
    if (isIntrinsic(value)) return this.intrinsic(value);
    const out: { [key: string]: Resolved } = {};
    for (const [k, v] of Object.entries(value as JsonObject)) {
      const r = this.resolve(v);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }

  /** Resolves `value` to a string (a token string included). */
  string(value: Json, where: string): string {
    const r = this.resolve(value);
    if (typeof r === 'string') return r;
    if (typeof r === 'number' || typeof r === 'boolean') return String(r);
    throw new Error(`${where}: expected a string, got ${JSON.stringify(r)}`);
  }

  /** Evaluates a condition expression. */
  truth(value: Json, where: string): boolean {
    const r = this.resolve(value);
    if (typeof r !== 'boolean') throw new Error(`${where}: a condition must be true or false, got ${JSON.stringify(r)}`);
    return r;
  }

  private intrinsic(value: JsonObject): Resolved {
    const [name, arg] = Object.entries(value)[0];
    switch (name) {
      case 'Ref':
        return this.ref(String(arg));
      case 'Condition':
        return this.scope.condition(String(arg));
      case 'Fn::GetAtt': {
        const [id, attr] = typeof arg === 'string' ? arg.split(/\.(.*)/s) : (arg as string[]);
        return this.scope.attribute(id, attr);
      }
      case 'Fn::Sub':
        return this.sub(arg);
      case 'Fn::Join': {
        const [sep, list] = arg as [string, Json];
        const items = this.list(list, 'Fn::Join');
        return items.join(sep);
      }
      case 'Fn::Split': {
        const [sep, s] = arg as [string, Json];
        const text = this.string(s, 'Fn::Split');
        return Token.isUnresolved(text) ? Token.asString(Fn.split(sep, text)) : text.split(sep);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [Json, Json];
        const i = Number(this.resolve(index));
        const resolved = this.resolve(list);
        if (typeof resolved === 'string' && Token.isUnresolved(resolved)) return Fn.select(i, Token.asList(resolved));
        if (!Array.isArray(resolved)) throw new Error(`Fn::Select: not a list: ${JSON.stringify(resolved)}`);
        if (i < 0 || i >= resolved.length) throw new Error(`Fn::Select: index ${i} out of range`);
        return resolved[i];
      }
      case 'Fn::If': {
        const [cond, yes, no] = arg as [string, Json, Json];
        return this.scope.condition(cond) ? this.resolve(yes) : this.resolve(no);
      }
      case 'Fn::Not':
        return !this.truth((arg as Json[])[0], 'Fn::Not');
      case 'Fn::And':
        return (arg as Json[]).every((c) => this.truth(c, 'Fn::And'));
      case 'Fn::Or':
        return (arg as Json[]).some((c) => this.truth(c, 'Fn::Or'));
      case 'Fn::Equals': {
        const [a, b] = (arg as Json[]).map((v) => this.resolve(v));
        return equals(a, b);
      }
      default:
        throw new Error(`${name} is not supported by the construct (extend lib/intrinsics.ts)`);
    }
  }

  private ref(name: string): Resolved {
    if (name === 'AWS::NoValue') return NO_VALUE;
    if (name in PSEUDO) return PSEUDO[name];
    const p = this.scope.parameter(name);
    if (p !== undefined) return p;
    return this.scope.attribute(name);
  }

  private list(value: Json, where: string): string[] {
    const r = this.resolve(value);
    if (!Array.isArray(r)) {
      if (typeof r === 'string' && Token.isUnresolved(r)) return Token.asList(r);
      throw new Error(`${where}: expected a list, got ${JSON.stringify(r)}`);
    }
    return r.map((item) => {
      if (Array.isArray(item)) return item.join(',');
      if (typeof item !== 'string' && typeof item !== 'number') throw new Error(`${where}: not a string: ${JSON.stringify(item)}`);
      return String(item);
    });
  }

  private sub(arg: Json): string {
    const [text, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [string, JsonObject]);
    return text.replace(/\$\{([^}]*)\}/g, (_, name: string) => {
      if (name.startsWith('!')) return `\${${name.slice(1)}}`;
      if (name in vars) return this.string(vars[name], `Fn::Sub \${${name}}`);
      const dot = name.indexOf('.');
      if (dot > 0 && !name.startsWith('AWS::')) return this.scope.attribute(name.slice(0, dot), name.slice(dot + 1));
      return this.string({ Ref: name }, `Fn::Sub \${${name}}`);
    });
  }
}

/** `Fn::Equals` at synth time; a reference to a resource is never the empty string. */
function equals(a: Resolved, b: Resolved): boolean {
  const token = (v: Resolved) => typeof v === 'string' && Token.isUnresolved(v);
  if (token(a) || token(b)) {
    if (a === b) return true;
    if (a === '' || b === '') return false;
    throw new Error(`Fn::Equals of ${String(a)} and ${String(b)} cannot be decided at synth time`);
  }
  return JSON.stringify(a) === JSON.stringify(b);
}
