/**
 * The template's parameters as the construct sees them: a typed prop, else `props.parameters`,
 * else the template's default; every value is checked against the template's constraints.
 */
import { Token } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { PARAMETERS_OF, type ApptrackProps, type ApptrackSettings } from './props';
import type { SamParameter, SamTemplate } from './template';

type Setting = keyof ApptrackSettings;

function isLogGroups(v: unknown): v is logs.ILogGroup[] {
  return Array.isArray(v) && v.every((g) => typeof g === 'object' && g !== null && 'logGroupName' in g);
}

export class Parameters {
  private readonly settingOf = new Map<string, Setting>();
  private readonly defaultGroups = new Map<string, logs.ILogGroup>();

  constructor(
    private readonly scope: Construct,
    private readonly template: SamTemplate,
    private readonly props: ApptrackProps,
  ) {
    for (const [setting, params] of Object.entries(PARAMETERS_OF) as [Setting, readonly string[]][]) {
      for (const p of params) this.settingOf.set(p, setting);
    }
    for (const name of Object.keys(props.parameters ?? {})) {
      if (!(name in template.Parameters)) throw new Error(`parameters.${name}: the template has no such parameter`);
    }
  }

  /** A parameter's value, or undefined when the template has no parameter `name`. */
  value(name: string): string | string[] | undefined {
    const def = this.template.Parameters[name];
    if (!def) return undefined;
    const setting = this.settingOf.get(name);
    const given = setting === undefined ? undefined : this.props[setting];
    let value: string | string[];
    if (isLogGroups(given)) {
      // Log group settings feed the subscriptions; a reference to one of their parameters
      // gets the group names, spread over the parameter's slots.
      const names = given.map((g) => g.logGroupName);
      const slots = PARAMETERS_OF[setting!];
      value = def.Type === 'CommaDelimitedList' ? names : (names[slots.indexOf(name)] ?? '');
    } else if (given !== undefined) {
      value = typeof given === 'object' && given !== null && 'topicArn' in given ? given.topicArn : String(given);
    } else if (this.props.parameters?.[name] !== undefined) {
      value = this.props.parameters[name];
    } else {
      value = def.Default === undefined ? '' : String(def.Default);
    }
    if (def.Type === 'CommaDelimitedList' && typeof value === 'string') value = value === '' ? [] : value.split(',');
    check(name, def, value);
    return value;
  }

  /** The log groups for a function's log-group parameters: the setting's, else the defaults'. */
  logGroups(parameterNames: string[]): logs.ILogGroup[] {
    const out: logs.ILogGroup[] = [];
    const seenSettings = new Set<Setting>();
    for (const name of parameterNames) {
      const setting = this.settingOf.get(name);
      const given = setting === undefined ? undefined : this.props[setting];
      if (given !== undefined) {
        if (!isLogGroups(given)) throw new Error(`${setting}: expected log groups`);
        if (!seenSettings.has(setting!)) out.push(...given);
        seenSettings.add(setting!);
        continue;
      }
      const v = this.value(name) ?? '';
      for (const groupName of [v].flat().filter((n) => n !== '')) {
        let g = this.defaultGroups.get(groupName);
        if (!g) {
          g = logs.LogGroup.fromLogGroupName(this.scope, `LogGroup${groupName.replace(/[^A-Za-z0-9]+/g, '-')}`, groupName);
          this.defaultGroups.set(groupName, g);
        }
        if (!out.includes(g)) out.push(g);
      }
    }
    return out;
  }
}

/** The template's own constraints, so a prop is refused where `sam deploy` would refuse it. */
function check(name: string, def: SamParameter, value: string | string[]): void {
  for (const v of [value].flat()) {
    if (Token.isUnresolved(v)) continue;
    const fail = (why: string) => {
      throw new Error(`${name} = ${JSON.stringify(v)}: ${why}`);
    };
    if (def.AllowedValues && !def.AllowedValues.map(String).includes(v)) fail(`not one of ${def.AllowedValues.join(', ')}`);
    if (def.AllowedPattern && !new RegExp(`^(?:${def.AllowedPattern})$`).test(v)) fail(`does not match ${def.AllowedPattern}`);
    if (def.Type === 'Number') {
      const n = Number(v);
      if (v.trim() === '' || Number.isNaN(n)) fail('not a number');
      if (def.MinValue !== undefined && n < def.MinValue) fail(`below ${def.MinValue}`);
      if (def.MaxValue !== undefined && n > def.MaxValue) fail(`above ${def.MaxValue}`);
    }
  }
}
