# Regenerates reconcile/testdata/bad from real iambind-fn output (needs PyYAML):
#   go build -o /tmp/iambind-fn ./fn
#   /tmp/iambind-fn < reconcile/testdata/bad/gen/binding.yaml | python3 reconcile/testdata/bad/gen/gen.py
# Each case starts from the plan ConfigMap and ServiceAccount of binding shop/orders
# (account 111122223333) and tampers with one thing; see reconcile/badinput_test.go.
import copy, json, os, sys, yaml
out = yaml.safe_load(sys.stdin)
cm = [i for i in out['items'] if i['kind']=='ConfigMap'][0]
BASE = json.loads(cm['data']['role.json'])
D = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
os.makedirs(D, exist_ok=True)
os.makedirs(D+'/ok', exist_ok=True)
ISS = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"

def block(s, ind):
    return "|\n" + "".join((" "*ind + l if l else "") + "\n" for l in s.rstrip("\n").split("\n"))

def pretty(v): return json.dumps(v, indent=2, ensure_ascii=False)

def configmap(role=None, ns="shop", name="iambind-orders", role_text=None, trust_text=None, no_trust=False, labels=None, data=None):
    if role is None: role = BASE
    if role_text is None: role_text = pretty(role)
    if trust_text is None and not no_trust:
        trust_text = pretty(role["trustPolicy"]) if isinstance(role, dict) and isinstance(role.get("trustPolicy"), dict) else pretty(BASE["trustPolicy"])
    labels = labels or "{app.kubernetes.io/managed-by: iambind, iambind.dev/plan: role}"
    arn = role.get("arn", "") if isinstance(role, dict) else ""
    s = f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  namespace: {ns}
  labels: {labels}
  annotations:
    iambind.dev/binding: shop/orders
    iambind.dev/role-arn: "{arn}"
"""
    if data is not None:
        return s + data
    s += "data:\n  role.json: " + block(role_text, 4)
    if not no_trust:
        s += "  trust-policy.json: " + block(trust_text, 4)
    return s

def sa(ns="shop", name="orders", arn=BASE["arn"]):
    return f"""apiVersion: v1
kind: ServiceAccount
metadata:
  name: {name}
  namespace: {ns}
  labels: {{app.kubernetes.io/managed-by: iambind}}
  annotations:
    eks.amazonaws.com/role-arn: {arn}
    eks.amazonaws.com/sts-regional-endpoints: "true"
    iambind.dev/binding: shop/orders
"""

def write(fname, expect, *docs, args=None, sub=""):
    hdr = "".join(f"# expect: {e}\n" for e in ([expect] if isinstance(expect, str) else expect))
    if args: hdr += f"# args: {args}\n"
    body = "---\n".join(docs)
    p = os.path.join(D, sub, fname + ".yaml")
    open(p, "w").write(hdr + body)

def mut(f):
    r = copy.deepcopy(BASE); f(r); return r

def setk(k, v):
    return lambda r: r.__setitem__(k, v)

def rename(r, name=None, path=None):
    if name is not None: r["name"] = name
    if path is not None: r["path"] = path
    r["arn"] = f"arn:aws:iam::111122223333:role{r['path']}{r['name']}"

SRC = "ConfigMap shop/iambind-orders"
# --- role.json syntax and types
write("role-json-not-json", f"{SRC}: role.json: invalid character", configmap(role_text='{"name": "shop-orders", oops'), sa())
write("role-json-truncated", f"{SRC}: role.json: unexpected EOF", configmap(role_text=pretty(BASE)[:200]), sa())
write("role-json-trailing-data", f"{SRC}: role.json: unexpected data after the JSON object", configmap(role_text=pretty(BASE) + '\n{"name": "other"}'), sa())
write("role-json-array", f"{SRC}: role.json: json: cannot unmarshal array", configmap(role_text='[1, 2, 3]'), sa())
write("role-json-session-string", f"{SRC}: role.json: json: cannot unmarshal string into Go struct field Role.maxSessionDuration", configmap(mut(setk("maxSessionDuration", "3600"))), sa())
write("role-json-tags-list", f"{SRC}: role.json: json: cannot unmarshal array into Go struct field Role.tags", configmap(mut(setk("tags", ["iambind.dev/owner=prod"]))), sa())
write("role-json-unknown-field", f'{SRC}: role.json: json: unknown field "maxSesionDuration"', configmap(mut(lambda r: r.__setitem__("maxSesionDuration", 7200))), sa())
write("role-json-missing-name", f"{SRC}: role.json: name is empty", configmap(mut(lambda r: r.pop("name"))), sa())
write("role-json-missing-arn", f'role shop-orders ({{file}}: {SRC}): arn "" does not match path "/iambind/" and name "shop-orders"', configmap(mut(lambda r: r.pop("arn"))), sa())
write("arn-name-mismatch", f'arn "arn:aws:iam::111122223333:role/iambind/shop-payments" does not match path "/iambind/" and name "shop-orders"', configmap(mut(setk("arn", "arn:aws:iam::111122223333:role/iambind/shop-payments"))))
write("arn-path-mismatch", f'arn "arn:aws:iam::111122223333:role/shop-orders" does not match path "/iambind/"', configmap(mut(setk("arn", "arn:aws:iam::111122223333:role/shop-orders"))))
write("role-name-65-chars", f"role {'r'*65} ({{file}}: {SRC}): name must be 1-64 characters", configmap(mut(lambda r: rename(r, name="r"*65))))
write("role-name-bad-chars", 'role shop-orders;rm -rf ({file}: ' + SRC + '): name must be 1-64 characters of [A-Za-z0-9_+=,.@-]', configmap(mut(lambda r: rename(r, name="shop-orders;rm -rf"))))
write("path-no-slashes", f'{SRC}): path "iambind" must start and end with /', configmap(mut(lambda r: rename(r, path="iambind"))))
write("description-1001", f"{SRC}): description is 1001 characters, IAM allows 1000", configmap(mut(setk("description", "d"*1001))), sa())
write("session-too-short", f"{SRC}): maxSessionDuration 60 must be within 3600..43200", configmap(mut(setk("maxSessionDuration", 60))), sa())
write("session-too-long", f"{SRC}): maxSessionDuration 86400 must be within 3600..43200", configmap(mut(setk("maxSessionDuration", 86400))), sa())
write("session-missing", f"{SRC}): maxSessionDuration 0 must be within 3600..43200", configmap(mut(lambda r: r.pop("maxSessionDuration"))), sa())
# --- trust policy
tampered = copy.deepcopy(BASE["trustPolicy"]); tampered["Statement"][0]["Condition"]["StringEquals"][ISS+":sub"] = "system:serviceaccount:*:*"
write("trust-policy-json-tampered", f"{SRC}: trust-policy.json differs from trustPolicy in role.json", configmap(trust_text=pretty(tampered)), sa())
write("trust-policy-json-missing", f"{SRC}: plan has no trust-policy.json", configmap(no_trust=True), sa())
write("trust-policy-json-not-json", f"{SRC}: trust-policy.json: invalid JSON", configmap(trust_text='{"Version": "2012-10-17", "Statement": ['), sa())
def drop_cond(key):
    def f(r):
        del r["trustPolicy"]["Statement"][0]["Condition"]["StringEquals"][ISS+":"+key]
    return f
write("trust-no-aud", f"{SRC}): trust policy statement 1 has no condition on {ISS}:aud", configmap(mut(drop_cond("aud"))), sa())
write("trust-no-sub", f"{SRC}): trust policy statement 1 has no condition on {ISS}:sub", configmap(mut(drop_cond("sub"))), sa())
write("trust-no-condition", f"{SRC}): trust policy statement 1 has no condition on {ISS}:aud", configmap(mut(lambda r: r["trustPolicy"]["Statement"][0].pop("Condition"))), sa())
write("trust-principal-aws-star", f"{SRC}): trust policy statement 1: principal must be exactly one Federated OIDC provider", configmap(mut(lambda r: r["trustPolicy"]["Statement"][0].__setitem__("Principal", {"AWS": "*"}))))
write("trust-action-assume-role", f'{SRC}): trust policy statement 1: action must be sts:AssumeRoleWithWebIdentity', configmap(mut(lambda r: r["trustPolicy"]["Statement"][0].__setitem__("Action", ["sts:AssumeRoleWithWebIdentity", "sts:AssumeRole"]))), sa())
write("trust-foreign-provider", f"{SRC}): trust policy statement 1 trusts arn:aws:iam::999988887777:oidc-provider/{ISS}, which is not among the role's oidcProviders", configmap(mut(lambda r: r["trustPolicy"]["Statement"][0]["Principal"].__setitem__("Federated", f"arn:aws:iam::999988887777:oidc-provider/{ISS}"))), sa())
write("trust-no-statement", f"{SRC}): trust policy has no statement", configmap(mut(lambda r: r["trustPolicy"].__setitem__("Statement", []))))
# --- policies
write("managed-arn-garbage", f'{SRC}): managed policy "AmazonS3ReadOnlyAccess; DROP" is not an IAM policy ARN', configmap(mut(setk("managedPolicyArns", ["AmazonS3ReadOnlyAccess; DROP"]))), sa())
write("managed-arn-other-service", f'{SRC}): managed policy "arn:aws:s3:::bucket/policy/x" is not an IAM policy ARN', configmap(mut(setk("managedPolicyArns", ["arn:aws:s3:::bucket/policy/x"]))), sa())
write("boundary-garbage", f'{SRC}): permissionsBoundary "admin" is not an IAM policy ARN', configmap(mut(setk("permissionsBoundary", "admin"))), sa())
write("managed-21", f"{SRC}): 21 managed policies, IAM allows at most 20 per role", configmap(mut(setk("managedPolicyArns", [f"arn:aws:iam::111122223333:policy/p{i:02d}" for i in range(21)]))), sa())
write("inline-not-object", f"{SRC}: role.json: inlinePolicies.bucket: must be a JSON object (a policy document)", configmap(mut(lambda r: r["inlinePolicies"].__setitem__("bucket", ["s3:GetObject"]))), sa())
write("inline-string", f"{SRC}: role.json: inlinePolicies.bucket: must be a JSON object (a policy document)", configmap(mut(lambda r: r["inlinePolicies"].__setitem__("bucket", json.dumps(BASE["inlinePolicies"]["bucket"])))), sa())
def big_inline(r):
    for i in range(12):
        r["inlinePolicies"][f"p{i:02d}"] = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + "b"*900 + "/*"}]}
write("inline-total-over-10240", f"{SRC}): inline policies total", configmap(mut(big_inline)), sa())
write("inline-bad-name", f'{SRC}): inline policy name "bucket policy"', configmap(mut(lambda r: r["inlinePolicies"].__setitem__("bucket policy", r["inlinePolicies"].pop("bucket")))), sa())
# --- tags and ownership
def tags51(r):
    for i in range(48): r["tags"][f"team/k{i:02d}"] = "v"
write("tags-51", f"{SRC}): 51 tags, IAM allows 50", configmap(mut(tags51)), sa())
write("tag-aws-prefix", f'{SRC}): tag key "aws:createdBy" must be 1-128 characters and not start with aws:', configmap(mut(lambda r: r["tags"].__setitem__("aws:createdBy", "me"))), sa())
write("owner-tag-missing", f"{SRC}): tags have no iambind.dev/owner: ownership cannot be established", configmap(mut(lambda r: r["tags"].pop("iambind.dev/owner"))), sa())
write("owner-tag-empty", f"{SRC}): tags have no iambind.dev/owner: ownership cannot be established", configmap(mut(lambda r: r["tags"].__setitem__("iambind.dev/owner", ""))), sa())
write("oidc-provider-http", f'{SRC}): OIDC provider URL "http://{ISS}" must start with https://', configmap(mut(lambda r: r["oidcProviders"][0].__setitem__("url", "http://"+ISS))))
write("oidc-provider-arn-other-account", f'{SRC}): oidcProviders[0].arn "arn:aws:iam::999988887777:oidc-provider/{ISS}" is not the provider of https://{ISS} in the role\'s account (arn:aws:iam::111122223333:oidc-provider/{ISS})', configmap(mut(lambda r: r["oidcProviders"][0].__setitem__("arn", f"arn:aws:iam::999988887777:oidc-provider/{ISS}"))), sa())
write("trust-effect-deny", f'{SRC}): trust policy statement 1: effect "Deny" must be Allow', configmap(mut(lambda r: r["trustPolicy"]["Statement"][0].__setitem__("Effect", "Deny"))))
# --- plan consistency across ConfigMaps
write("two-plans-one-role", f"role shop-orders is planned twice with different role.json: {{file}}: {SRC} and {{file}}: ConfigMap shop/iambind-orders-copy",
      configmap(), configmap(mut(setk("description", "changed by hand")), name="iambind-orders-copy"), sa())
write("same-role-two-namespaces", f"role shop-orders is planned twice with different role.json: {{file}}: {SRC} and {{file}}: ConfigMap staging/iambind-orders",
      configmap(), configmap(mut(setk("maxSessionDuration", 7200)), ns="staging"), sa())
write("role-name-case-collision", "role Shop-Orders is planned twice with different role.json",
      configmap(), configmap(mut(lambda r: rename(r, name="Shop-Orders")), name="iambind-orders-upper"), sa())
def other_account(r):
    rename(r, name="shop-payments")
    r["arn"] = r["arn"].replace("111122223333", "444455556666")
write("two-accounts", "the plan spans several accounts (aws:111122223333, aws:444455556666): run iambind once per account",
      configmap(), configmap(mut(other_account), name="iambind-payments"), sa())
write("plan-configmap-no-data", f"{SRC}: plan has no role.json", configmap(data=""), sa())
write("plan-configmap-data-not-string", f"{SRC}: data.role.json must be a string holding the JSON document, got a mapping", configmap(data="data:\n  role.json: {name: shop-orders}\n"), sa())
# --- consistency guard
write("sa-namespace-changed-guard", ["consistency guard: nothing was changed", "{file}: ServiceAccount prod-shop/orders uses role shop-orders, whose trust policy does not admit system:serviceaccount:prod-shop:orders"],
      configmap(ns="prod-shop"), sa(ns="prod-shop"))
write("sa-name-prefix", "ServiceAccount shop/v2-orders uses role shop-orders, whose trust policy does not admit system:serviceaccount:shop:v2-orders",
      configmap(), sa(name="v2-orders"))
write("sa-annotations-list", "{file}: malformed ServiceAccount shop/orders: metadata.annotations must be a mapping, got a list", configmap(), sa().replace("  annotations:\n    eks.amazonaws.com/role-arn: ", "  annotations:\n  - eks.amazonaws.com/role-arn: ").replace("\n    eks.amazonaws.com/sts-regional-endpoints", "\n  - eks.amazonaws.com/sts-regional-endpoints").replace("\n    iambind.dev/binding: shop/orders\n", "\n  - iambind.dev/binding: shop/orders\n"))
# --- prune with no plan
write("prune-without-plan", "--prune given but the input holds no plan", sa(), configmap(labels="{app.kubernetes.io/managed-by: iambind, iambind.dev/plan: draft}"), args="--prune")
# --- not YAML / not Kubernetes
open(f"{D}/yaml-garbage.yaml", "w").write("# expect: {file}: MalformedYAMLError: yaml: line 3: did not find expected ',' or '}'\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n  labels: [[[\ndata:\n\t- : :\n")
open(f"{D}/invalid-utf8.yaml", "wb").write(b"# expect: {file}: MalformedYAMLError: yaml: invalid leading UTF-8 octet\n" + configmap().encode().replace(b"Managed by iambind", b"Managed by \xff\xfe iambind"))
open(f"{D}/metadata-is-list.yaml", "w").write("# expect: {file}: line 5: malformed ConfigMap: metadata must be a mapping, got a list\napiVersion: v1\nkind: ConfigMap\nmetadata:\n- name: iambind-orders\n- labels: {iambind.dev/plan: role}\ndata: {role.json: '{}'}\n")
open(f"{D}/labels-is-string.yaml", "w").write("# expect: {file}: malformed ConfigMap /iambind-orders: metadata.labels must be a mapping, got the scalar \"iambind.dev/plan=role\"\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: iambind-orders\n  labels: iambind.dev/plan=role\ndata: {role.json: '{}'}\n")
open(f"{D}/resourcelist-items-not-list.yaml", "w").write("# expect: {file}: line 4: ResourceList items must be a list\napiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: {a: b}\n")
open(f"{D}/document-is-scalar.yaml", "w").write("# expect: {file}: line 2: a document or list item is not a Kubernetes object\njust a string\n---\n" + configmap())
bomb = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: iambind-orders\n  namespace: shop\n  labels: {iambind.dev/plan: role}\n  annotations:\n    a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
for i in range(1, 10):
    bomb += f"    a{i}: &a{i} [" + ",".join([f"*a{i-1}"]*9) + "]\n"
bomb += "data:\n  role.json: *a9\n"
open(f"{D}/alias-bomb.yaml", "w").write("# expect: {file}: ConfigMap shop/iambind-orders: data.role.json must be a string holding the JSON document, got a YAML alias\n" + bomb)
# --- good: wrong labels are ignored
write("wrong-labels-ignored", "iambind: warning: the input holds no plan",
      configmap(labels="{app.kubernetes.io/managed-by: iambind, iambind.dev/plan: Role}"),
      configmap(labels="{app.kubernetes.io/managed-by: iambind}", name="iambind-nolabel"),
      configmap(labels="{iambind.dev/plan-role: role}", name="iambind-otherkey"),
      configmap(role_text="garbage", labels="{iambind.dev/plan: draft}", name="iambind-draft"),
      configmap(labels="{iambind.dev/plan: role}", name="iambind-secret").replace("kind: ConfigMap", "kind: Secret", 1),
      configmap(labels="{iambind.dev/plan: role}", name="iambind-v2").replace("apiVersion: v1", "apiVersion: v2", 1),
      sa(name="unrelated", arn="arn:aws:iam::111122223333:role/elsewhere"),
      sub="ok")
# base plan (control): applies cleanly
write("base", "", configmap(), sa(), sub="ok")
