/**
 * The construct against infra/template.yaml: every function, rule, subscription, queue, alarm
 * and table of the template is there with the template's settings, each function's IAM is the
 * template's, and the props are the template's parameters with its defaults.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CfnElement, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { PARAMETERS_OF, rustFunctions, subscriptions } from '../lib';
import { mergeGlobals } from '../lib/sam';
import { cargoWasAskedToBuild, render, roleOf, sam, samRoles, samRolesMissing, statement, synth } from './helpers';

const functions = rustFunctions(sam);
const resourcesOfType = (type: string) => Object.entries(sam.Resources).filter(([, r]) => r.Type === type);

// Two synths serve every test: the defaults, and every log-group and topic prop given.
const plain = synth();
const given = synth({}, (stack: Stack) => ({
  alertTopic: new sns.Topic(stack, 'Alerts'),
  errorAnalyzerLogGroups: [new logs.LogGroup(stack, 'App1'), logs.LogGroup.fromLogGroupName(stack, 'App2', '/team/app2')],
  loginGuardAuthLogGroups: [logs.LogGroup.fromLogGroupName(stack, 'Auth', '/team/auth')],
  errorAnalyzerFilterPattern: '?ERROR ?Exception',
}));

describe('synth without bundling', () => {
  it('never asks cargo to build (bundling really is skipped)', () => {
    assert.deepEqual(cargoWasAskedToBuild(), []);
  });
});

describe('functions', () => {
  it('the template has Rust functions to derive', () => {
    assert.ok(functions.length >= 3, `only ${functions.length} functions found`);
  });

  for (const f of functions) {
    describe(f.binary, () => {
      const p = f.properties as any;
      const fn = () => plain.json.Resources[plain.cdkIdOf.get(f.logicalId)!];

      it('is a Lambda function on provided.al2023 for arm64, handler bootstrap', () => {
        assert.equal(fn().Type, 'AWS::Lambda::Function');
        assert.equal(fn().Properties.Runtime, p.Runtime);
        assert.deepEqual(fn().Properties.Architectures, p.Architectures);
        assert.equal(fn().Properties.Handler, 'bootstrap');
        assert.equal(plain.apptrack.functions[f.binary].function, plain.apptrack.resources[f.logicalId]);
      });

      it("has the template's settings (Globals applied)", () => {
        const q = fn().Properties;
        assert.equal(q.MemorySize, p.MemorySize);
        assert.equal(q.Timeout, p.Timeout);
        assert.equal(q.Description, p.Description);
        assert.equal(q.ReservedConcurrentExecutions, p.ReservedConcurrentExecutions);
        assert.deepEqual(q.TracingConfig, { Mode: p.Tracing });
        const { LogGroup, ...logging } = p.LoggingConfig;
        assert.deepEqual({ ...q.LoggingConfig, LogGroup: render(q.LoggingConfig.LogGroup, plain.samIdOf) }, { ...logging, LogGroup: render(LogGroup) });
      });

      it("has the template's environment, parameters at their defaults", () => {
        const expected = Object.fromEntries(
          Object.entries(p.Environment.Variables).map(([k, v]: [string, any]) => {
            const param = v && typeof v === 'object' ? sam.Parameters[v.Ref] : undefined;
            return [k, param ? String(param.Default) : render(v)];
          }),
        );
        assert.deepEqual(render(fn().Properties.Environment.Variables, plain.samIdOf), expected);
      });

      it("has the template's retries, event age and on-failure queue", () => {
        const config = p.EventInvokeConfig;
        const found = Object.values(plain.json.Resources).filter(
          (r) => r.Type === 'AWS::Lambda::EventInvokeConfig' && r.Properties.FunctionName.Ref === plain.cdkIdOf.get(f.logicalId),
        );
        assert.equal(found.length, config ? 1 : 0);
        if (!config) return;
        const got = found[0].Properties;
        assert.equal(got.MaximumRetryAttempts, config.MaximumRetryAttempts);
        assert.equal(got.MaximumEventAgeInSeconds, config.MaximumEventAgeInSeconds);
        assert.equal(render(got.DestinationConfig.OnFailure.Destination, plain.samIdOf), render(config.DestinationConfig.OnFailure.Destination));
      });

      it('has one rule per EventBridge or Schedule event, targeting it', () => {
        const rules = Object.values(plain.json.Resources).filter(
          (r) => r.Type === 'AWS::Events::Rule' && r.Properties.Targets.some((t: any) => render(t.Arn, plain.samIdOf) === `\${${f.logicalId}.Arn}`),
        );
        const events = Object.entries((p.Events ?? {}) as Record<string, any>).filter(([, e]) => e.Type !== 'DynamoDB');
        assert.equal(rules.length, events.length);
        for (const [name, e] of events) {
          const r = plain.apptrack.functions[f.binary].rules.find((x) => x.node.id === f.logicalId + name);
          assert.ok(r, `no rule for ${name}`);
          const cfn = plain.json.Resources[plain.stack.resolve((r.node.defaultChild as any).logicalId)].Properties;
          if (e.Type === 'EventBridgeRule') assert.deepEqual(cfn.EventPattern, e.Properties.Pattern);
          if (e.Type === 'Schedule') assert.equal(cfn.ScheduleExpression, e.Properties.Schedule);
          if (e.Properties.Input) assert.deepEqual(JSON.parse(cfn.Targets[0].Input), JSON.parse(e.Properties.Input));
        }
      });

      it('has one event source mapping per DynamoDB stream event, as SAM makes it', () => {
        const streams = Object.entries((p.Events ?? {}) as Record<string, any>).filter(([, e]) => e.Type === 'DynamoDB');
        const mappings = Object.values(plain.json.Resources).filter(
          (r) => r.Type === 'AWS::Lambda::EventSourceMapping' && r.Properties.FunctionName.Ref === plain.cdkIdOf.get(f.logicalId),
        );
        assert.equal(mappings.length, streams.length);
        for (const [name, e] of streams) {
          const m = plain.apptrack.functions[f.binary].streams.find((x) => x.node.id === f.logicalId + name);
          assert.ok(m, `no mapping for ${name}`);
          const got = plain.json.Resources[plain.stack.resolve(m.logicalId)].Properties;
          const want = e.Properties;
          assert.equal(render(got.EventSourceArn, plain.samIdOf), render(want.Stream));
          assert.equal(got.StartingPosition, want.StartingPosition);
          assert.equal(got.BatchSize, want.BatchSize);
          assert.deepEqual(got.FunctionResponseTypes, want.FunctionResponseTypes);
          assert.equal(got.MaximumRetryAttempts, want.MaximumRetryAttempts);
          assert.deepEqual(got.FilterCriteria.Filters.map((x: any) => x.Pattern), want.FilterCriteria.Filters.map((x: any) => x.Pattern));
          assert.equal(render(got.DestinationConfig.OnFailure.Destination, plain.samIdOf), render(want.DestinationConfig.OnFailure.Destination));
        }
      });

      it("has the template's IAM statements, each as written there (same Sid, actions, resources, conditions)", () => {
        const own = (p.Policies as any[]).flatMap((x) => x.Statement).map((s) => statement(s));
        assert.deepEqual(roleOf(plain, f.logicalId).statements.filter((s) => s.Sid), own);
      });

      it("has the role SAM makes for it (samtranslator's transform of the template)", { skip: samRoles ? false : samRolesMissing }, () => {
        const want = samRoles![f.logicalId];
        const got = roleOf(plain, f.logicalId);
        // CDK grants Tracing: Active inline (xray:PutTraceSegments, xray:PutTelemetryRecords),
        // where SAM attaches the managed AWSXrayWriteOnlyAccess: that pair is the only difference.
        const xray = got.statements.filter((s) => (s.Action as string[]).every((a) => a.startsWith('xray:')));
        const bag = (list: unknown[]) => list.map((x) => JSON.stringify(x)).sort();
        assert.deepEqual(bag(got.statements.filter((s) => !xray.includes(s))), bag(want.statements.map((s: any) => statement(s))));
        const managed = (arns: unknown[]) => arns.map((a) => String(render(a)).replace(/.*:policy\//, '')).sort();
        const cdkManaged = managed(got.managed);
        if (xray.length > 0) cdkManaged.push('AWSXrayWriteOnlyAccess');
        assert.deepEqual(cdkManaged.sort(), managed(want.managed));
        assert.deepEqual(xray.flatMap((s) => s.Action), ['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
      });
    });
  }
});

describe('log subscriptions', () => {
  const specs = subscriptions(sam);

  it('the template subscribes functions to log groups', () => {
    assert.ok(specs.size >= 1);
  });

  it('by default, the log groups the parameters default to', () => {
    for (const [functionId, spec] of specs) {
      const names = spec.logGroupParameters
        .flatMap((p) => String(sam.Parameters[p].Default ?? '').split(','))
        .filter((n) => n !== '');
      const filters = plain.template.findResources('AWS::Logs::SubscriptionFilter', {
        Properties: { DestinationArn: { 'Fn::GetAtt': [plain.cdkIdOf.get(functionId), 'Arn'] } },
      });
      assert.deepEqual(Object.values(filters).map((f: any) => f.Properties.LogGroupName).sort(), names.sort(), functionId);
    }
  });

  it('one subscription and one invoke permission per log group passed in', () => {
    const groups: Record<string, number> = { ErrorAnalyzerFunction: 2, LoginGuardFunction: 1 };
    for (const [functionId, spec] of specs) {
      const cdkId = given.cdkIdOf.get(functionId)!;
      const filters = given.template.findResources('AWS::Logs::SubscriptionFilter', {
        Properties: { DestinationArn: { 'Fn::GetAtt': [cdkId, 'Arn'] } },
      });
      assert.equal(Object.keys(filters).length, groups[functionId] ?? 0, functionId);
      const pattern = sam.Parameters[(spec.filterPattern as any).Ref].Default ?? '';
      const expected = functionId === 'ErrorAnalyzerFunction' ? '?ERROR ?Exception' : pattern;
      for (const f of Object.values(filters) as any[]) assert.equal(f.Properties.FilterPattern, expected);
      const permissions = given.template.findResources('AWS::Lambda::Permission', {
        Properties: { Principal: 'logs.amazonaws.com', FunctionName: { 'Fn::GetAtt': [cdkId, 'Arn'] } },
      });
      assert.equal(Object.keys(permissions).length, groups[functionId] ?? 0);
    }
  });
});

describe('queues and alarms', () => {
  it("every queue of the template, with its retention and key, TLS only", () => {
    for (const [id, r] of resourcesOfType('AWS::SQS::Queue')) {
      const queue = plain.json.Resources[plain.cdkIdOf.get(id)!];
      assert.deepEqual(queue.Properties, r.Properties, id);
      plain.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: plain.cdkIdOf.get(id) }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    }
  });

  it('every alarm of the template, no action without a topic', () => {
    const alarms = resourcesOfType('AWS::CloudWatch::Alarm');
    assert.ok(alarms.length >= functions.length * 2);
    for (const [id, r] of alarms) {
      const got = plain.json.Resources[plain.cdkIdOf.get(id)!].Properties;
      const { AlarmActions, AlarmDescription, Dimensions, ...rest } = r.Properties as any;
      const { AlarmActions: gotActions, AlarmDescription: gotDescription, Dimensions: gotDimensions, ...gotRest } = got;
      assert.deepEqual(gotRest, rest, id);
      assert.equal(gotActions, undefined);
      assert.deepEqual(render(gotDimensions, plain.samIdOf), render(Dimensions));
      assert.equal(render(gotDescription, plain.samIdOf), render(AlarmDescription));
      const topic = given.stack.resolve((given.stack.node.findChild('Alerts').node.defaultChild as CfnElement).logicalId);
      assert.deepEqual(given.json.Resources[given.cdkIdOf.get(id)!].Properties.AlarmActions, [{ Ref: topic }], id);
    }
  });
});

describe('tables', () => {
  const tables = resourcesOfType('AWS::DynamoDB::Table');
  it('the template has tables', () => assert.ok(tables.length >= 2));
  const sorted = (p: any) => ({
    ...p,
    AttributeDefinitions: [...p.AttributeDefinitions].sort((a, b) => a.AttributeName.localeCompare(b.AttributeName)),
    ...(p.GlobalSecondaryIndexes && { GlobalSecondaryIndexes: [...p.GlobalSecondaryIndexes].sort((a, b) => a.IndexName.localeCompare(b.IndexName)) }),
  });
  for (const [id, r] of tables) {
    it(`${id}: the same keys, indexes, TTL, billing, streams, recovery, encryption and retention`, () => {
      const got = plain.json.Resources[plain.cdkIdOf.get(id)!];
      assert.deepEqual(sorted(got.Properties), sorted(r.Properties));
      assert.equal(got.DeletionPolicy, r.DeletionPolicy ?? 'Delete');
      assert.equal(got.UpdateReplacePolicy, r.UpdateReplacePolicy ?? 'Delete');
    });
  }
});

describe('props', () => {
  it('stand for every template parameter, each once', () => {
    const bound = Object.values(PARAMETERS_OF).flat();
    assert.deepEqual([...bound].sort(), Object.keys(sam.Parameters).sort());
  });

  it('override the defaults and keep the template constraints', () => {
    const s = synth({ alarmScalerDryRun: true, loginGuardMaxFailures: 3, alarmScalerTargetFraction: 0.5, parameters: { LoginGuardAuthRegex: '(?P<account>x)' } });
    const alarm = s.json.Resources[s.cdkIdOf.get('AlarmScalerFunction')!].Properties.Environment.Variables;
    assert.equal(alarm.APPTRACK_DRY_RUN, 'true');
    assert.equal(alarm.APPTRACK_TARGET_FRACTION, '0.5');
    const guard = s.json.Resources[s.cdkIdOf.get('LoginGuardFunction')!].Properties.Environment.Variables;
    assert.equal(guard.APPTRACK_LOCK_MAX_FAILURES, '3');
    assert.equal(guard.APPTRACK_AUTH_REGEX, '(?P<account>x)');
    assert.throws(() => synth({ alarmScalerTargetFraction: 1.5 }), /AlarmScalerTargetFraction = "1.5": does not match/);
    assert.throws(() => synth({ loginGuardFindTimeSeconds: 30 }), /LoginGuardFindTimeSeconds = "30": below 60/);
    assert.throws(() => synth({ parameters: { NoSuchParameter: 'x' } }), /no such parameter/);
  });
});

describe('Globals', () => {
  it("merge as SAM merges them: maps merge, the function's own scalars win", () => {
    assert.deepEqual(mergeGlobals({ A: 1, M: { x: 1, y: 2 }, L: [1] }, { A: 2, M: { y: 3 }, L: [2] }), { A: 2, M: { x: 1, y: 3 }, L: [1, 2] });
  });
});

describe('dashboard', () => {
  const dashboards = resourcesOfType('AWS::CloudWatch::Dashboard');
  it('the template has the apptrack dashboard', () => assert.equal(dashboards.length, 1));
  for (const [id, r] of dashboards) {
    it(`${id}: the template's body, references resolved to the construct's resources`, () => {
      const got = plain.json.Resources[plain.cdkIdOf.get(id)!].Properties;
      const body = render(got.DashboardBody, plain.samIdOf) as string;
      assert.equal(body, render((r.Properties as any).DashboardBody));
      assert.equal(render(got.DashboardName, plain.samIdOf), render((r.Properties as any).DashboardName));
      // Valid JSON once substituted, and the custom widget calls the widget function.
      const parsed = JSON.parse(body.replace(/\$\{[^}]+\}/g, 'x'));
      const custom = parsed.widgets.filter((w: any) => w.type === 'custom');
      assert.equal(custom.length, 1);
      assert.equal(body.match(/"endpoint": "\$\{IncidentWidgetFunction\.Arn\}"/g)?.length, 2);
    });
  }
});
