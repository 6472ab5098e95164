"""Each function's IAM role as SAM itself makes it: infra/template.yaml through samtranslator
(the SAM CLI's own transform, offline), printed as JSON {function: {managed, statements}}."""
import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoLookups:
    """The template names no managed policy by name, so nothing needs IAM's ListPolicies."""

    def load(self):
        return {}


# Offline: the transform wants a region, and an S3 CodeUri (what `sam package` uploads to);
# neither changes the roles.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
template = yaml_parse(open(sys.argv[1]).read())
for r in template["Resources"].values():
    if r.get("Type") == "AWS::Serverless::Function":
        r.setdefault("Properties", {})["CodeUri"] = "s3://bucket/key"
template.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
out = transform(template, {}, NoLookups())
roles = {}
for name, r in out["Resources"].items():
    if r["Type"] != "AWS::Lambda::Function":
        continue
    role = out["Resources"][r["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]
    roles[name] = {
        "managed": role.get("ManagedPolicyArns", []),
        "statements": [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]],
    }
json.dump(roles, sys.stdout)
