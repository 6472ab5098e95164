/**
 * cdk-nag's AwsSolutions pack over the example stack: no finding is left, and each one the
 * construct acknowledges carries its reason.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ExampleStack } from '../example/stack';
import { cargoWasAskedToBuild } from './helpers';

function nag(acknowledge: boolean) {
  const outdir = mkdtempSync(join(tmpdir(), 'apptrack-nag-'));
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new ExampleStack(app, 'ApptrackExample', { acknowledgeFindings: acknowledge });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  let error: unknown;
  // A failing validation prints its whole report; the test reads the report file instead.
  const log = console.log;
  const errorLog = console.error;
  if (!acknowledge) console.log = console.error = () => {};
  try {
    app.synth();
  } catch (e) {
    error = e;
  } finally {
    console.log = log;
    console.error = errorLog;
  }
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
  return { stack, error, report };
}

const acknowledgedRules = (stack: ExampleStack) =>
  stack.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id, reason }))),
  );

describe('cdk-nag AwsSolutions over the example stack', () => {
  const clean = nag(true);

  it('leaves no finding', () => {
    const violations = clean.report.pluginReports.flatMap((p: any) => p.violations.map((v: any) => `${v.ruleName} at ${v.violatingConstructs.map((c: any) => c.constructPath).join(', ')}`));
    assert.deepEqual(violations, []);
    assert.equal(clean.error, undefined);
    assert.deepEqual(clean.report.pluginReports.map((p: any) => p.conclusion), ['success']);
  });

  it('each acknowledgment gives its reason', () => {
    const acks = acknowledgedRules(clean.stack);
    assert.ok(acks.length > 0);
    for (const a of acks) assert.ok(a.reason && a.reason.length > 40, `${a.id}: no real reason`);
  });

  it('without them, the findings are there and stop the synth (the checks really run)', () => {
    const raw = nag(false);
    assert.ok(raw.error, 'synth should fail');
    const rules = new Set(raw.report.pluginReports.flatMap((p: any) => p.violations.map((v: any) => v.ruleName.replace(/\[.*/, ''))));
    assert.deepEqual([...rules].sort(), ['AwsSolutions-IAM4', 'AwsSolutions-IAM5', 'AwsSolutions-SQS3']);
  });

  it('bundled nothing', () => assert.deepEqual(cargoWasAskedToBuild(), []));
});
