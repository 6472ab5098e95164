/**
 * Reads infra/template.yaml into plain CloudFormation JSON, so the construct and its tests
 * read the same definition SAM deploys. Short-form tags (`!Ref`, `!Sub`, ...) become their
 * long forms (`{ Ref: ... }`, `{ 'Fn::Sub': ... }`).
 */
import { readFileSync } from 'node:fs';
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A CloudFormation (SAM) template as the construct reads it. */
export interface SamTemplate {
  readonly path: string;
  readonly Parameters: Record<string, SamParameter>;
  readonly Conditions: Record<string, Json>;
  readonly Globals: { Function?: JsonObject };
  readonly Resources: Record<string, SamResource>;
  readonly Outputs: Record<string, JsonObject>;
}

export interface SamParameter {
  readonly Type: string;
  readonly Default?: string | number;
  readonly AllowedValues?: (string | number)[];
  readonly AllowedPattern?: string;
  readonly MinValue?: number;
  readonly MaxValue?: number;
  readonly Description?: string;
}

export interface SamResource {
  readonly Type: string;
  readonly Condition?: string;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly Metadata?: JsonObject;
  readonly Properties?: JsonObject;
}

/** `!Ref X` is `{ Ref: X }`, `!GetAtt A.B` is `{ 'Fn::GetAtt': [A, B] }`, every other `!Name` is `Fn::Name`. */
function longForm(tag: string, value: Json): JsonObject {
  const name = tag.slice(1);
  if (name === 'Ref' || name === 'Condition') return { [name]: value };
  if (name === 'GetAtt' && typeof value === 'string') {
    const dot = value.indexOf('.');
    if (dot < 0) throw new Error(`!GetAtt ${value}: expected Resource.Attribute`);
    return { 'Fn::GetAtt': [value.slice(0, dot), value.slice(dot + 1)] };
  }
  return { [`Fn::${name}`]: value };
}

function toJson(node: unknown, doc: Document): Json {
  if (isAlias(node)) return toJson(node.resolve(doc), doc);
  let value: Json;
  if (isScalar(node)) {
    value = node.value as Json;
  } else if (isSeq(node)) {
    value = node.items.map((item) => toJson(item, doc));
  } else if (isMap(node)) {
    const out: JsonObject = {};
    for (const pair of node.items) {
      const key = toJson(pair.key, doc);
      out[String(key)] = toJson(pair.value, doc);
    }
    value = out;
  } else if (node === null || node === undefined) {
    return null;
  } else {
    throw new Error(`unexpected YAML node ${String(node)}`);
  }
  const tag = (node as Node).tag;
  return tag && tag.startsWith('!') && !tag.startsWith('!!') ? longForm(tag, value) : value;
}

/** Parses a CloudFormation YAML text (short-form tags included). */
export function parseTemplateText(text: string, path = '<text>'): SamTemplate {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join('; ')}`);
  const json = toJson(doc.contents, doc) as JsonObject;
  if (!json || typeof json !== 'object' || !json.Resources) throw new Error(`${path}: no Resources`);
  return {
    path,
    Parameters: (json.Parameters ?? {}) as unknown as Record<string, SamParameter>,
    Conditions: (json.Conditions ?? {}) as Record<string, Json>,
    Globals: (json.Globals ?? {}) as { Function?: JsonObject },
    Resources: json.Resources as unknown as Record<string, SamResource>,
    Outputs: (json.Outputs ?? {}) as Record<string, JsonObject>,
  };
}

export function loadTemplate(path: string): SamTemplate {
  return parseTemplateText(readFileSync(path, 'utf8'), path);
}
