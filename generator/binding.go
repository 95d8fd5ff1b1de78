package generator

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/iambind/iambind/generator/managedpolicies"
	"github.com/iambind/iambind/internal/suggest"
)

// subjectRef is a concrete (non-wildcard) ServiceAccount of a binding.
type subjectRef struct {
	Namespace, Name string
}

func (s subjectRef) String() string { return s.Namespace + "/" + s.Name }

// plannedBinding is a binding after defaulting, validation and expansion:
// everything Generate needs to emit its ServiceAccounts and plan.
type plannedBinding struct {
	ref         ResourceRef
	key         string // <namespace>/<name>
	role        Role
	trustJSON   []byte // pretty trust-policy.json
	roleJSON    []byte // pretty role.json
	subjects    []subjectRef
	create      bool
	annotations map[string]string // set on each of its ServiceAccounts
	inject      *injection        // nil when injection is off (inject.go)
	// target is the Pod Identity target role (spec.podIdentity.targetAccountID),
	// nil without one; its files go in the same plan ConfigMap.
	target          *Role
	targetJSON      []byte
	targetTrustJSON []byte
}

// planBinding defaults, validates and expands one binding against the
// clusters in scope. It returns nil when any error was reported.
func planBinding(b *IdentityBinding, clusters map[string]*IdentityCluster, sink problemSink) *plannedBinding {
	before := len(*sink.problems)
	s := &b.Spec
	ns := b.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	if b.Metadata.Name == "" {
		sink.errorf("metadata.name", "is required")
		return nil
	}
	if !dns1123Label.MatchString(b.Metadata.Name) || len(b.Metadata.Name) > 63 {
		sink.errorf("metadata.name", "%q is not a DNS-1123 label (lower-case a-z, 0-9 and '-', at most 63 characters)", b.Metadata.Name)
	}
	if !dns1123Label.MatchString(ns) || len(ns) > 63 {
		sink.errorf("metadata.namespace", "%q is not a valid namespace name (DNS-1123 label)", ns)
	}

	used := resolveClusters(s.Clusters, clusters, sink)
	if len(used) == 0 {
		return nil
	}
	first := used[0].Spec
	issuerOf := map[string]string{used[0].Spec.Issuer: used[0].Metadata.Name}
	for i, c := range used[1:] {
		if c.Spec.AccountID != first.AccountID || c.Spec.Partition != first.Partition {
			sink.errorf(fmt.Sprintf("spec.clusters[%d]", i+1),
				"cluster %q is in account %s (%s) but %q is in %s (%s): one role lives in one account, so every cluster of a binding must share accountID and partition",
				c.Metadata.Name, c.Spec.AccountID, c.Spec.Partition, used[0].Metadata.Name, first.AccountID, first.Partition)
		}
		// Two clusters with one issuer would give duplicate trust statements
		// (and one OIDC provider): almost always a copy-paste mistake.
		if other, dup := issuerOf[c.Spec.Issuer]; dup {
			sink.errorf(fmt.Sprintf("spec.clusters[%d]", i+1), "cluster %q has the same issuer as cluster %q (%s); list it once", c.Metadata.Name, other, c.Spec.Issuer)
		}
		issuerOf[c.Spec.Issuer] = c.Metadata.Name
	}

	mode := bindingMode(b, sink)
	podIdentity := mode == ModePodIdentity || mode == ModeBoth
	var piOpts podIdentityOptions
	if podIdentity {
		checkPodIdentityInputs(b, mode, used, sink) // reports wildcard subjects too
	}
	if mode != "" {
		piOpts = checkPodIdentitySpec(b, mode, used[0], sink)
	}
	subjects, exact := bindingSubjects(b, ns, podIdentity, sink)

	// Role identity.
	roleName := s.Role.Name
	if roleName == "" {
		roleName = DeriveRoleName(first.RoleNamePrefix, ns, b.Metadata.Name)
	} else if !IsValidRoleName(roleName) {
		sink.errorf("spec.role.name", "%q is not a valid IAM role name (1-%d characters of [A-Za-z0-9_+=,.@-]); explicit names are never rewritten", roleName, MaxRoleNameLength)
	}
	rolePath := s.Role.Path
	if rolePath == "" {
		rolePath = first.RolePath
	} else {
		validateRolePath(rolePath, "spec.role.path", sink)
	}
	description := s.Role.Description
	switch {
	case s.Role.NoDescription && description != "":
		sink.errorf("spec.role.noDescription", "is true but spec.role.description is set: give one or the other")
	case s.Role.NoDescription:
	case description == "":
		description = fmt.Sprintf("Managed by iambind for %s/%s", ns, b.Metadata.Name)
	}
	if len(description) > MaxDescriptionLength {
		sink.errorf("spec.role.description", "is %d characters; IAM allows at most %d", len(description), MaxDescriptionLength)
	} else if !descriptionChars.MatchString(description) {
		sink.errorf("spec.role.description", "holds characters IAM role descriptions do not allow (printable Latin-1 only)")
	}
	maxSession := s.Role.MaxSessionDuration
	if maxSession == 0 {
		maxSession = DefaultMaxSessionDuration
	} else if maxSession < MinSessionDuration || maxSession > MaxSessionDuration {
		sink.errorf("spec.role.maxSessionDuration", "%d is outside %d..%d seconds (1 to 12 hours)", maxSession, MinSessionDuration, MaxSessionDuration)
	}
	boundary := s.Role.PermissionsBoundary
	boundaryField := "spec.role.permissionsBoundary"
	if boundary == "" {
		boundary = first.PermissionsBoundary // validated with the cluster
	} else {
		validatePolicyRef(boundary, first.Partition, boundaryField, false, sink)
	}

	// Tags: cluster tags, binding tags over them, then iambind's ownership tags.
	validateTags(s.Role.Tags, "spec.role.tags", sink)
	tags := map[string]string{}
	for k, v := range first.Tags {
		tags[k] = v
	}
	for k, v := range s.Role.Tags {
		tags[k] = v
	}
	tags[TagOwner] = first.Owner
	tags[TagBinding] = ns + "/" + b.Metadata.Name
	tags[TagManagedBy] = ManagedByValue
	if len(tags) > MaxTagsPerRole {
		sink.errorf("spec.role.tags", "the role would carry %d tags (cluster, binding and 3 iambind tags); IAM allows at most %d", len(tags), MaxTagsPerRole)
	}

	managed := managedPolicies(s.Policies.Managed, first.Partition, sink)
	inline := inlinePolicies(s.Policies.Inline, sink)
	managed = addWellKnown(s.Policies, used, managed, inline, sink)

	audience := s.Audience
	if audience == "" {
		audience = DefaultAudience
	} else if strings.ContainsAny(audience, " \t\n\"\\") || len(audience) > 255 {
		sink.errorf("spec.audience", "%q is not a valid audience (no white space, quotes or backslashes, at most 255 characters)", audience)
	}
	if s.TokenExpiration != 0 && (s.TokenExpiration < MinTokenExpiration || s.TokenExpiration > MaxTokenExpiration) {
		sink.errorf("spec.tokenExpiration", "%d is outside %d..%d seconds (0 leaves the cluster default)", s.TokenExpiration, MinTokenExpiration, MaxTokenExpiration)
	}
	if sink.erredSince(before) {
		return nil
	}

	issuers := make([]TrustIssuer, 0, len(used))
	providers := make([]OIDCProvider, 0, len(used))
	maxTrust, quotaCluster := first.MaxTrustPolicySize, used[0].Metadata.Name
	for _, c := range used {
		issuers = append(issuers, TrustIssuer{Partition: c.Spec.Partition, AccountID: c.Spec.AccountID, Issuer: c.Spec.Issuer})
		providers = append(providers, OIDCProvider{
			URL:       c.Spec.Issuer,
			ARN:       OIDCProviderARN(c.Spec.Partition, c.Spec.AccountID, c.Spec.Issuer),
			Audiences: []string{audience},
		})
		if c.Spec.MaxTrustPolicySize < maxTrust {
			maxTrust, quotaCluster = c.Spec.MaxTrustPolicySize, c.Metadata.Name
		}
	}
	trust := BuildTrustPolicy(issuers, audience, subjects)
	var associations []PodIdentityAssociation
	if mode != ModeIRSA {
		var st Statement
		st, associations = podIdentityPlan(used, exact)
		if mode == ModePodIdentity {
			trust.Statement, providers = nil, []OIDCProvider{}
		}
		trust.Statement = append(trust.Statement, st)
		applyPodIdentityOptions(piOpts, &trust, associations)
	}
	compact, _ := MarshalJSON(trust, false)
	if size := NonWhitespaceLength(compact); size > maxTrust {
		sink.errorf("spec.serviceAccounts",
			"the trust policy is %d characters (white space not counted) but the account's quota is %d: use fewer service accounts per role, a namespace wildcard (name: \"*\" with allowWildcardSubjects: true), or, if AWS raised your AssumeRolePolicySizeQuota, declare it in IdentityCluster %q spec.maxTrustPolicySize",
			size, maxTrust, quotaCluster)
		return nil
	}

	role := Role{
		Name:                roleName,
		Path:                rolePath,
		ARN:                 RoleARN(first.Partition, first.AccountID, rolePath, roleName),
		Description:         description,
		MaxSessionDuration:  maxSession,
		PermissionsBoundary: BoundaryARN(first.Partition, first.AccountID, boundary),
		ManagedPolicyARNs:   managed,
		InlinePolicies:      inline,
		Tags:                tags,
		TrustPolicy:         trust,
		OIDCProviders:       providers,

		PodIdentityAssociations: associations,
	}
	var target *Role
	if piOpts.targetAccount != "" {
		t := splitTargetRole(&role, piOpts, mode, rolePath)
		target = &t
	}
	trustJSON, err := MarshalJSON(trust, true)
	if err != nil {
		sink.errorf("spec", "cannot encode the trust policy: %v", err)
		return nil
	}
	roleJSON, err := MarshalJSON(role, true)
	if err != nil {
		sink.errorf("spec.policies", "cannot encode role.json: %v", err)
		return nil
	}

	var targetJSON, targetTrustJSON []byte
	if target != nil {
		targetJSON, _ = MarshalJSON(target, true)
		targetTrustJSON, _ = MarshalJSON(target.TrustPolicy, true)
	}

	annotations := map[string]string{AnnotationBinding: ns + "/" + b.Metadata.Name}
	if mode == ModePodIdentity {
		// Pod Identity needs no annotation, and an IRSA one would win over it
		// in the SDKs' credential chains (docs/pod-identity.md); so would
		// injected web-identity env: injection writes Pod Identity's own
		// token and container-credentials env instead (inject_podidentity.go).
		return &plannedBinding{ref: sink.ref, key: ns + "/" + b.Metadata.Name, role: role, trustJSON: trustJSON, roleJSON: roleJSON,
			subjects: exact, create: s.CreateServiceAccounts == nil || *s.CreateServiceAccounts, annotations: annotations,
			inject: planInjection(b, used[0], "", audience, nil, podIdentityProfile),
			target: target, targetJSON: targetJSON, targetTrustJSON: targetTrustJSON}
	}
	annotations[AnnotationRoleARN] = role.ARN
	// "per spec": an explicit false is written as "false", since
	// the pod identity webhook's own default may be regional, and leaving
	// the annotation out would silently ignore the user's choice.
	annotations[AnnotationRegionalSTS] = strconv.FormatBool(s.STSRegionalEndpoints == nil || *s.STSRegionalEndpoints)
	if audience != DefaultAudience {
		annotations[AnnotationAudience] = audience
	}
	if s.TokenExpiration != 0 {
		annotations[AnnotationTokenExpiration] = strconv.FormatInt(s.TokenExpiration, 10)
	}
	return &plannedBinding{
		ref:         sink.ref,
		key:         ns + "/" + b.Metadata.Name,
		role:        role,
		trustJSON:   trustJSON,
		roleJSON:    roleJSON,
		subjects:    exact,
		create:      s.CreateServiceAccounts == nil || *s.CreateServiceAccounts,
		annotations: annotations,
		inject:      planInjection(b, used[0], role.ARN, audience, subjects.Wildcards, irsaProfile),

		target: target, targetJSON: targetJSON, targetTrustJSON: targetTrustJSON,
	}
}

// resolveClusters maps spec.clusters to IdentityClusters; an omitted list
// means "the only cluster in scope".
func resolveClusters(names []string, clusters map[string]*IdentityCluster, sink problemSink) []*IdentityCluster {
	available := slices.Sorted(maps.Keys(clusters))
	if len(names) == 0 {
		switch len(clusters) {
		case 1:
			return []*IdentityCluster{clusters[available[0]]}
		case 0:
			sink.errorf("spec.clusters", "no IdentityCluster is in scope: add one to the input (or pass it as the function config; in a YAML stream, with --cluster FILE)")
		default:
			sink.errorf("spec.clusters", "is required when several IdentityClusters are in scope (%s)", strings.Join(available, ", "))
		}
		return nil
	}
	var out []*IdentityCluster
	seen := map[string]bool{}
	ok := true
	for i, name := range names {
		field := fmt.Sprintf("spec.clusters[%d]", i)
		c, found := clusters[name]
		switch {
		case seen[name]:
			sink.errorf(field, "cluster %q is listed twice", name)
			ok = false
		case !found:
			hint := "none are in scope"
			if len(available) > 0 {
				hint = "in scope: " + strings.Join(available, ", ")
			}
			sink.errorf(field, "IdentityCluster %q not found (%s)", name, hint)
			ok = false
		default:
			out = append(out, c)
		}
		seen[name] = true
	}
	if !ok {
		return nil
	}
	return out
}

// bindingSubjects validates spec.serviceAccounts and returns the token
// subjects for the trust policy and the concrete ServiceAccounts to annotate.
func bindingSubjects(b *IdentityBinding, ns string, podIdentity bool, sink problemSink) (Subjects, []subjectRef) {
	sas := b.Spec.ServiceAccounts
	if len(sas) == 0 {
		sas = []ServiceAccount{{Name: b.Metadata.Name}}
	}
	var subjects Subjects
	var exact []subjectRef
	seen := map[string]int{}
	for i, sa := range sas {
		field := fmt.Sprintf("spec.serviceAccounts[%d]", i)
		saNS := sa.Namespace
		if saNS == "" {
			saNS = ns
		}
		wild := IsWildcard(sa.Name) || IsWildcard(saNS)
		switch {
		case sa.Name == "":
			sink.errorf(field+".name", "is required")
			continue
		case wild && podIdentity:
			continue // checkPodIdentityInputs says why
		case wild && !b.Spec.AllowWildcardSubjects:
			sink.errorf(field+".name", "%q is a wildcard subject (it admits every matching ServiceAccount); set spec.allowWildcardSubjects: true to allow it", saNS+"/"+sa.Name)
			continue
		case wild && (!saGlobPattern.MatchString(sa.Name) || !saGlobPattern.MatchString(saNS)):
			sink.errorf(field, "%q is not a valid ServiceAccount glob (DNS-1123 characters plus * and ?)", saNS+"/"+sa.Name)
			continue
		case !wild && (!dns1123Subdomain.MatchString(sa.Name) || len(sa.Name) > 253):
			sink.errorf(field+".name", "%q is not a valid ServiceAccount name (lower-case DNS-1123 subdomain)", sa.Name)
			continue
		case !wild && (!dns1123Label.MatchString(saNS) || len(saNS) > 63):
			sink.errorf(field+".namespace", "%q is not a valid namespace name (DNS-1123 label)", saNS)
			continue
		}
		key := saNS + "/" + sa.Name
		if j, dup := seen[key]; dup {
			sink.errorf(field, "%q is listed twice (also spec.serviceAccounts[%d])", key, j)
			continue
		}
		seen[key] = i
		if wild {
			subjects.Wildcards = append(subjects.Wildcards, SubjectFor(saNS, sa.Name))
			continue
		}
		subjects.Exact = append(subjects.Exact, SubjectFor(saNS, sa.Name))
		exact = append(exact, subjectRef{Namespace: saNS, Name: sa.Name})
	}
	sort.Slice(exact, func(i, j int) bool { return exact[i].String() < exact[j].String() })
	return subjects, exact
}

// managedPolicies validates and resolves spec.policies.managed to sorted ARNs.
func managedPolicies(refs []string, partition string, sink problemSink) []string {
	arns := []string{}
	seen := map[string]int{}
	for i, ref := range refs {
		field := fmt.Sprintf("spec.policies.managed[%d]", i)
		if ref == "" {
			sink.errorf(field, "is empty")
			continue
		}
		validatePolicyRef(ref, partition, field, true, sink)
		arn := ManagedPolicyARN(partition, ref)
		if j, dup := seen[arn]; dup {
			sink.errorf(field, "%s is listed twice (also spec.policies.managed[%d])", arn, j)
			continue
		}
		seen[arn] = i
		if strings.HasSuffix(arn, ":policy/AdministratorAccess") {
			sink.warnf(field, "AdministratorAccess grants every permission in the account to this workload; prefer a scoped policy")
		}
		warnUnknownManagedPolicy(arn, partition, field, sink)
		arns = append(arns, arn)
	}
	switch {
	case len(arns) > MaxManagedPerRole:
		sink.errorf("spec.policies.managed", "%d managed policies; IAM allows at most %d per role even with a raised quota", len(arns), MaxManagedPerRole)
	case len(arns) > DefaultManagedPerRole:
		sink.warnf("spec.policies.managed", "%d managed policies; IAM's default quota is %d per role, so apply fails unless your account's quota was raised", len(arns), DefaultManagedPerRole)
	}
	sort.Strings(arns)
	return arns
}

// warnUnknownManagedPolicy warns about an AWS managed policy (a bare name or
// an arn:...:iam::aws:policy/ ARN) missing from the embedded list. Only a
// warning: the offline list goes stale as AWS adds policies; `iambind plan`
// asks IAM (GetPolicy) and refuses a policy that really does not exist.
// Other partitions have their own sets, so only aws is checked.
func warnUnknownManagedPolicy(arn, partition, field string, sink problemSink) {
	name, isAWS := managedpolicies.NameFromARN(arn)
	if !isAWS || partition != "aws" || managedpolicies.Known(name) {
		return
	}
	sink.warnf(field, "%s is not a known AWS managed policy%s (iambind's offline list may be stale; `iambind plan` checks it in IAM and refuses it if it does not exist)",
		name, suggest.Phrase(managedpolicies.Suggest(name)))
}

// inlinePolicies validates spec.policies.inline and returns canonical documents.
func inlinePolicies(docs map[string]json.RawMessage, sink problemSink) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	total := 0
	for _, name := range slices.Sorted(maps.Keys(docs)) {
		field := "spec.policies.inline." + name
		if !policyNamePattern.MatchString(name) {
			sink.errorf(field, "%q is not a valid inline policy name (1-%d characters of [A-Za-z0-9_+=,.@-])", name, MaxInlinePolicyName)
			continue
		}
		doc, err := decodePolicyDocument(docs[name])
		if err != nil {
			sink.errorf(field, "%v", err)
			continue
		}
		if problem := checkPolicyShape(doc); problem != "" {
			sink.errorf(field, "%s", problem)
			continue
		}
		if grantsEverything(doc) {
			sink.warnf(field, "allows Action \"*\" on Resource \"*\" (administrator access); prefer scoped actions and resources")
		}
		total += NonWhitespaceLength(doc)
		out[name] = doc
	}
	if total > MaxInlinePolicyTotal {
		sink.errorf("spec.policies.inline", "inline policies total %d characters (white space not counted); IAM allows %d per role: move some into managed policies", total, MaxInlinePolicyTotal)
	}
	return out
}

// policyShape is the part of a policy document iambind checks.
type policyShape struct {
	Version   string `json:"Version"`
	Statement json.RawMessage
}

type statementShape struct {
	Effect   string     `json:"Effect"`
	Action   StringList `json:"Action"`
	Resource StringList `json:"Resource"`
}

func policyStatements(doc []byte) (policyShape, []statementShape, error) {
	var p policyShape
	if err := json.Unmarshal(doc, &p); err != nil {
		return p, nil, err
	}
	var list []statementShape
	if len(p.Statement) > 0 && p.Statement[0] == '{' {
		var one statementShape
		err := json.Unmarshal(p.Statement, &one)
		return p, []statementShape{one}, err
	}
	err := json.Unmarshal(p.Statement, &list)
	return p, list, err
}

// checkPolicyShape catches documents IAM would reject with a less helpful message.
func checkPolicyShape(doc []byte) string {
	// IAM element names are case-sensitive but encoding/json matches them
	// case-insensitively: without this, {"statement": [{"effect": ...}]}
	// passed every check below (found by FuzzDecodeBinding).
	if msg := elementNameCase(doc, "Version", "Id", "Statement"); msg != "" {
		return msg
	}
	var rawStatements []json.RawMessage
	var top struct{ Statement json.RawMessage }
	if json.Unmarshal(doc, &top) == nil && len(top.Statement) > 0 {
		if top.Statement[0] == '{' {
			rawStatements = []json.RawMessage{top.Statement}
		} else {
			_ = json.Unmarshal(top.Statement, &rawStatements)
		}
	}
	for i, st := range rawStatements {
		if msg := elementNameCase(st, "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"); msg != "" {
			return fmt.Sprintf("Statement[%d]: %s", i, msg)
		}
	}
	p, statements, err := policyStatements(doc)
	// A non-string Version makes the decode above fail on Version; say so
	// instead of blaming Statement.
	var version struct{ Version any }
	_ = json.Unmarshal(doc, &version)
	if _, isString := version.Version.(string); version.Version != nil && !isString {
		return fmt.Sprintf("Version must be the string \"%s\"", PolicyVersion)
	}
	switch {
	case p.Version != "" && p.Version != PolicyVersion && p.Version != "2008-10-17":
		return fmt.Sprintf("Version %q is not an IAM policy version (use \"%s\")", p.Version, PolicyVersion)
	// `Statement:` left empty in YAML is null, and [] holds nothing: IAM
	// rejects both, so they are as missing as an absent Statement.
	case len(p.Statement) == 0 || string(p.Statement) == "null" || (err == nil && len(statements) == 0):
		return "has no Statement"
	case err != nil:
		return fmt.Sprintf("Statement is malformed: %v", err)
	}
	for i, st := range statements {
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return fmt.Sprintf("Statement[%d].Effect must be Allow or Deny, got %q", i, st.Effect)
		}
	}
	return ""
}

// elementNameCase reports a key of the JSON object raw that spells one of
// names in another case.
func elementNameCase(raw []byte, names ...string) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return ""
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		for _, name := range names {
			if k != name && strings.EqualFold(k, name) {
				return fmt.Sprintf("%q must be spelled %q (IAM policy element names are case-sensitive)", k, name)
			}
		}
	}
	return ""
}

func grantsEverything(doc []byte) bool {
	_, statements, _ := policyStatements(doc)
	for _, st := range statements {
		if st.Effect != "Allow" {
			continue
		}
		allActions, allResources := false, false
		for _, a := range st.Action {
			allActions = allActions || a == "*" || a == "*:*"
		}
		for _, r := range st.Resource {
			allResources = allResources || r == "*"
		}
		if allActions && allResources {
			return true
		}
	}
	return false
}
