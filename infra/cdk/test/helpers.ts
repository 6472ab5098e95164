/**
 * Test helpers: synthesize the construct with bundling skipped (no cargo build, offline), and
 * read both templates in one vocabulary (references by the SAM template's logical ids).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Apptrack, DEFAULT_TEMPLATE, loadTemplate, type ApptrackProps } from '../lib';

/**
 * A `cargo` that records its calls and refuses to build, first on PATH: cargo-lambda-cdk may ask
 * `cargo lambda --version`, but a synth that tried to bundle would call `cargo lambda build`.
 */
export const cargoCalls = join(mkdtempSync(join(tmpdir(), 'apptrack-cdk-')), 'cargo-calls.log');
{
  const bin = join(cargoCalls, '..', 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'cargo'), `#!/bin/sh\necho "$*" >> '${cargoCalls}'\n[ "$*" = "lambda --version" ] && { echo 'cargo-lambda 0.0.0'; exit 0; }\nexit 1\n`);
  chmodSync(join(bin, 'cargo'), 0o755);
  writeFileSync(cargoCalls, '');
  process.env.PATH = `${bin}:${process.env.PATH}`;
}

export function cargoWasAskedToBuild(): string[] {
  return readFileSync(cargoCalls, 'utf8').split('\n').filter((l) => l && l !== 'lambda --version');
}

export const sam = loadTemplate(DEFAULT_TEMPLATE);

export interface Synth {
  stack: Stack;
  apptrack: Apptrack;
  template: Template;
  json: { Resources: Record<string, { Type: string; Properties?: any; DeletionPolicy?: string; UpdateReplacePolicy?: string; DependsOn?: unknown }> };
  /** CDK logical id -> the SAM template's logical id, for the resources made from it. */
  samIdOf: Map<string, string>;
  /** The SAM template's logical id -> the CDK logical id of its resource. */
  cdkIdOf: Map<string, string>;
}

/** A synth with bundling skipped: `aws:cdk:bundling-stacks` names no stack. */
export function synth(props: ApptrackProps = {}, extra?: (stack: Stack) => Partial<ApptrackProps>): Synth {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  const apptrack = new Apptrack(stack, 'Apptrack', { ...props, ...extra?.(stack) });
  const template = Template.fromStack(stack);
  const samIdOf = new Map<string, string>();
  const cdkIdOf = new Map<string, string>();
  for (const [id, c] of Object.entries(apptrack.resources)) {
    const cfn = (c instanceof CfnElement ? c : c.node.defaultChild) as CfnElement;
    const logicalId = stack.resolve(cfn.logicalId) as string;
    samIdOf.set(logicalId, id);
    cdkIdOf.set(id, logicalId);
  }
  return { stack, apptrack, template, json: template.toJSON() as Synth['json'], samIdOf, cdkIdOf };
}

/**
 * One rendering of a CloudFormation value for both templates: `${Id}` / `${Id.Attr}` for
 * references (CDK ids mapped back to the SAM template's), Fn::Join and Fn::Sub as text.
 */
/** What `Ref: AWS::NoValue` leaves: nothing (dropped from lists and objects). */
const NO_VALUE = Symbol('AWS::NoValue');

/** A template condition's value with every parameter at its default, as the tests' synths use. */
function truth(c: any): boolean {
  if (typeof c === 'object' && c !== null) {
    if ('Condition' in c) return truth(sam.Conditions[c.Condition]);
    if ('Fn::Not' in c) return !truth(c['Fn::Not'][0]);
    if ('Fn::And' in c) return c['Fn::And'].every(truth);
    if ('Fn::Or' in c) return c['Fn::Or'].some(truth);
    if ('Fn::Equals' in c) {
      const [a, b] = c['Fn::Equals'].map((x: any) => (x && typeof x === 'object' && 'Ref' in x ? String(sam.Parameters[x.Ref]?.Default ?? '') : x));
      return String(a) === String(b);
    }
  }
  throw new Error(`test helper: condition ${JSON.stringify(c)} is not supported`);
}

export function render(value: unknown, samIdOf?: Map<string, string>): unknown {
  const id = (x: string) => samIdOf?.get(x) ?? x;
  if (Array.isArray(value)) return value.map((v) => render(v, samIdOf)).filter((v) => v !== NO_VALUE);
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    const [k] = keys;
    const arg = o[k] as any;
    if (k === 'Ref' && arg === 'AWS::NoValue') return NO_VALUE;
    if (k === 'Ref') return `\${${id(arg)}}`;
    if (k === 'Fn::If') return render(truth(sam.Conditions[arg[0]]) ? arg[1] : arg[2], samIdOf);
    if (k === 'Fn::GetAtt') return `\${${id(arg[0])}.${arg[1]}}`;
    if (k === 'Fn::Sub' && typeof arg === 'string') return arg;
    if (k === 'Fn::Join') return (arg[1] as unknown[]).map((p) => render(p, samIdOf)).join(arg[0]);
  }
  return Object.fromEntries(keys.map((k) => [k, render(o[k], samIdOf)]));
}

/** A policy statement with its lists as sorted arrays and references rendered. */
export function statement(s: any, samIdOf?: Map<string, string>) {
  const list = (v: unknown) => [v ?? []].flat().map((x) => render(x, samIdOf)).filter((x) => x !== NO_VALUE).sort() as string[];
  const out: Record<string, unknown> = { Effect: s.Effect, Action: list(s.Action), Resource: list(s.Resource) };
  if (s.Sid) out.Sid = s.Sid;
  if (s.Condition) out.Condition = render(s.Condition, samIdOf);
  return out;
}

/** A function's role in a synth: its managed policies and its statements (rendered). */
export function roleOf(s: Synth, functionId: string) {
  const role = s.json.Resources[s.cdkIdOf.get(functionId)!].Properties.Role['Fn::GetAtt'][0];
  const statements = Object.values(s.json.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: any) => x.Ref === role))
    .flatMap((x) => x.Properties.PolicyDocument.Statement)
    .map((st: any) => statement(st, s.samIdOf));
  return { managed: (s.json.Resources[role].Properties.ManagedPolicyArns ?? []) as unknown[], statements };
}

/**
 * The roles SAM makes for the template's functions, by the SAM CLI's own transform
 * (test/sam-roles.py, in the Python `make tools` installs SAM into).
 */
const samPython = join(dirname(DEFAULT_TEMPLATE), '..', '.local', 'venvs', 'sam', 'bin', 'python');
export const samRolesMissing = `no ${samPython} (run make tools)`;
export const samRoles: Record<string, { managed: unknown[]; statements: unknown[] }> | undefined = existsSync(samPython)
  ? JSON.parse(execFileSync(samPython, [join(__dirname, 'sam-roles.py'), DEFAULT_TEMPLATE], { encoding: 'utf8' }))
  : undefined;
