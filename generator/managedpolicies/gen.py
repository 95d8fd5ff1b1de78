#!/usr/bin/env python3
"""Writes names.txt: the AWS managed policy names (with their path, e.g.
service-role/AmazonEBSCSIDriverPolicy) from the copy of AWS's managed
policies that moto ships (moto/iam/aws_managed_policies.py,
aws_managed_policies_data). Run through `go generate ./generator/managedpolicies`
with moto installed (pip install moto==<version>)."""
import datetime
import importlib.metadata
import importlib.util
import json
import os
import sys

# Read the one module file without importing moto (whose import pulls in
# every service and takes seconds).
spec = importlib.util.find_spec("moto")
if spec is None:
    sys.exit("gen.py: moto is not installed")
source = os.path.join(spec.submodule_search_locations[0], "iam", "aws_managed_policies.py")
module = {}
with open(source) as f:
    exec(compile(f.read(), source, "exec"), module)
version = importlib.metadata.version("moto")

data = json.loads(module["aws_managed_policies_data"])
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
    f.write(f"# Source: moto {version}, moto/iam/aws_managed_policies.py (aws_managed_policies_data),\n")
    f.write(f"# newest policy date in it {newest[:10]}; generated {datetime.date.today().isoformat()} by gen.py.\n")
    f.write("# Do not edit: refresh with `go generate ./generator/managedpolicies`.\n")
    for n in names:
        f.write(n + "\n")
