#!/usr/bin/env python3
"""Writes names.txt: the AWS managed policy names (with their path, e.g.
service-role/AmazonEBSCSIDriverPolicy) from the copy of AWS's managed
policies that moto ships (moto/iam/aws_managed_policies.py,
aws_managed_policies_data). Run through `go generate ./generator/managedpolicies`
with moto installed (pip install moto==<version>)."""
import datetime
import json
import sys

import moto
from moto.iam.aws_managed_policies import aws_managed_policies_data

data = json.loads(aws_managed_policies_data)
names = []
newest = ""
for name, policy in data.items():
    path = policy.get("Path", "/").strip("/")
    names.append(f"{path}/{name}" if path else name)
    newest = max(newest, policy.get("UpdateDate", ""), policy.get("CreateDate", ""))
names.sort()

out = sys.argv[1] if len(sys.argv) > 1 else "names.txt"
with open(out, "w") as f:
    f.write(f"# AWS managed policy names, one per line, sorted ({len(names)} names).\n")
    f.write(f"# Source: moto {moto.__version__}, moto/iam/aws_managed_policies.py (aws_managed_policies_data),\n")
    f.write(f"# newest policy date in it {newest[:10]}; generated {datetime.date.today().isoformat()} by gen.py.\n")
    f.write("# Do not edit: refresh with `go generate ./generator/managedpolicies`.\n")
    for n in names:
        f.write(n + "\n")
