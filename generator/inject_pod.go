package generator

import (
	"fmt"
	"strings"

	"github.com/iambind/iambind/internal/yamlnode"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// One pod template's injection: validated and decided by planPod (reads
// only), written by podChange.apply.

// podChange is the decided injection state of one pod template.
type podChange struct {
	tmpl, spec *yaml.Node
	containers []*containerChange
	volume     *yaml.Node      // the token volume to hold, nil to hold none of ours
	profile    *tokenProfile   // whose volume that is
	oldVolumes map[string]bool // iambind's volumes there now (per the old marker)
	marker     marker
}

// containerChange is the decided state of one container: the env entries
// and mount iambind owns after the run, and the ones it owned before.
type containerChange struct {
	node     *yaml.Node
	env      []envVar      // owned entries to hold, in the webhook's order
	mount    *tokenProfile // the profile whose mount to hold, nil for none
	oldOwned []string      // items of the old marker
}

type envVar struct{ name, value string }

// envGroups are injected all or nothing per container, like the webhook
// does: a container that sets AWS_REGION itself does not get an
// AWS_DEFAULT_REGION that might disagree with it.
func wantedEnv(inj *injection, windows bool) [][]envVar {
	var groups [][]envVar
	if inj.regionalSTS {
		groups = append(groups, []envVar{{EnvRegionalSTS, "regional"}})
	}
	if inj.region != "" {
		groups = append(groups, []envVar{{EnvDefaultRegion, inj.region}, {EnvRegion, inj.region}})
	}
	return append(groups, credentialsEnv(inj, windows))
}

// planPod validates the shape of a pod template where injection applies
// (inj set, or an old marker to clean up) and decides its new state.
func planPod(tmpl, meta, spec *yaml.Node, prefix string, inj *injection, old marker, sink problemSink) *podChange {
	sf := prefix + "spec"
	before := len(*sink.problems)
	volumes := checkNamedList(spec, "volumes", sf, sink)
	type ctr struct {
		node  *yaml.Node
		name  string
		field string
	}
	var ctrs []ctr
	for _, list := range []string{"initContainers", "containers"} {
		l := checkNamedList(spec, list, sf, sink)
		if l == nil {
			continue
		}
		for i, c := range l.Content {
			f := fmt.Sprintf("%s.%s[%d]", sf, list, i)
			checkNamedList(c, "env", f, sink)
			checkNamedList(c, "volumeMounts", f, sink)
			ctrs = append(ctrs, ctr{c, yamlnode.Get(c, "name").Value, f})
		}
	}
	skipText, _ := readAnnotation(meta, AnnotationSkipContainers, prefix+"metadata", sink, true)
	if sink.erredSince(before) {
		return nil
	}
	skip := map[string]bool{}
	for _, name := range strings.Split(skipText, ",") {
		skip[strings.TrimSpace(name)] = true
	}

	// A token volume the user declared: iambind's own when compatible, else
	// (a token for another audience, another source) the webhook leaves the
	// whole pod alone, and so does iambind.
	userVolume := false
	if inj != nil {
		p := inj.profile
		if i, v := findNamed(volumes, p.volume); v != nil && !old.volumes[p.volumeItem] {
			userVolume = true
			if !compatibleVolume(v, inj) {
				sink.warnf(fmt.Sprintf("%s.volumes[%d]", sf, i), "volume %s is not a projected ServiceAccount token for audience %q at path %q; like the pod identity webhook, iambind does not inject this workload (binding %s)", p.volume, inj.tokenAudience(), p.file, inj.binding)
				inj = nil
			}
		}
	}
	windows := windowsPod(spec)

	change := &podChange{tmpl: tmpl, spec: spec, oldVolumes: old.volumes, marker: marker{volumes: map[string]bool{}, containers: map[string][]string{}}}
	wantVolume := false
	for _, c := range ctrs {
		cc := &containerChange{node: c.node, oldOwned: old.containers[c.name]}
		change.containers = append(change.containers, cc)
		if inj == nil || skip[c.name] {
			continue
		}
		if !markerName.MatchString(c.name) {
			sink.warnf(c.field+".name", "container name %q is not a Kubernetes container name; iambind does not inject it", c.name)
			continue
		}
		planContainer(cc, c.name, c.field, inj, old, windows, sink)
		var items []string
		if cc.mount != nil {
			items = append(items, cc.mount.mountItem)
			wantVolume = true
		}
		for _, e := range cc.env {
			items = append(items, e.name)
		}
		if len(items) > 0 {
			change.marker.containers[c.name] = items
		}
	}
	if wantVolume && !userVolume {
		change.volume, change.profile = tokenVolume(inj), inj.profile
		change.marker.volumes[inj.profile.volumeItem] = true
	}
	return change
}

// planContainer decides which env entries and mount iambind holds in one
// container: never one the user set (a warning when it differs from what
// iambind would set), never half of a group.
func planContainer(cc *containerChange, name, field string, inj *injection, old marker, windows bool, sink problemSink) {
	type userVar struct {
		value string
		index int
	}
	user := map[string]userVar{}
	if env := yamlnode.Get(cc.node, "env"); !isAbsent(env) {
		for j, e := range env.Content {
			n := yamlnode.Get(e, "name").Value
			if old.owns(name, n) {
				continue
			}
			v := "(valueFrom)"
			if val := yamlnode.Get(e, "value"); val != nil && val.Kind == yaml.ScalarNode {
				v = val.Value
			}
			if _, dup := user[n]; !dup {
				user[n] = userVar{v, j}
			}
		}
	}
	for _, group := range wantedEnv(inj, windows) {
		conflict := false
		for _, e := range group {
			if u, set := user[e.name]; set && u.value != e.value {
				conflict = true
				others := make([]string, 0, len(group))
				for _, g := range group {
					others = append(others, g.name)
				}
				sink.warnf(fmt.Sprintf("%s.env[%d]", field, u.index), "container %q sets %s=%q itself; iambind never overrides it, so this container gets none of %s from binding %s",
					name, e.name, u.value, strings.Join(others, ", "), inj.binding)
			}
		}
		if conflict {
			continue
		}
		for _, e := range group {
			if _, set := user[e.name]; !set { // set to the same value: the user's, left alone
				cc.env = append(cc.env, e)
			}
		}
	}

	p := inj.profile
	cc.mount = p
	if mounts := yamlnode.Get(cc.node, "volumeMounts"); !isAbsent(mounts) {
		for j, m := range mounts.Content {
			n := yamlnode.Get(m, "name").Value
			if ownedMount(old, name, n) {
				continue
			}
			mp := ""
			if v := yamlnode.Get(m, "mountPath"); v != nil {
				mp = strings.TrimSuffix(v.Value, "/")
			}
			if n != p.volume && mp != p.mountPath {
				continue
			}
			cc.mount = nil
			if n != p.volume || mp != p.mountPath {
				sink.warnf(fmt.Sprintf("%s.volumeMounts[%d]", field, j), "container %q already mounts %s at %s; iambind never overrides a mount, so it does not mount the token at %s (binding %s)",
					name, n, mp, p.mountPath, inj.binding)
			}
		}
	}
}

// ownedMount reports whether the mount of volume in container is one the
// old marker says iambind added.
func ownedMount(old marker, container, volume string) bool {
	for _, p := range profiles {
		if volume == p.volume && old.owns(container, p.mountItem) {
			return true
		}
	}
	return false
}

// checkNamedList checks that parent.key is absent or a list of maps, each
// with a non-empty string name; it returns the list (nil when absent).
func checkNamedList(parent *yaml.Node, key, field string, sink problemSink) *yaml.Node {
	l := yamlnode.Get(parent, key)
	if isAbsent(l) {
		return nil
	}
	f := field + "." + key
	if l.Kind != yaml.SequenceNode {
		sink.errorf(f, "must be a list, got %s", nodeKindName(l))
		return nil
	}
	ok := true
	for i, item := range l.Content {
		fi := fmt.Sprintf("%s[%d]", f, i)
		if item.Kind != yaml.MappingNode {
			sink.errorf(fi, "must be a map, got %s", nodeKindName(item))
			ok = false
			continue
		}
		if n := yamlnode.Get(item, "name"); n == nil || n.Kind != yaml.ScalarNode || n.Value == "" || n.ShortTag() != "!!str" {
			sink.errorf(fi+".name", "must be a non-empty string")
			ok = false
		}
		for i := 0; i+1 < len(item.Content); i += 2 {
			if k := item.Content[i]; k.Kind != yaml.ScalarNode || item.Content[i+1].Kind == yaml.AliasNode {
				sink.errorf(fi, "holds a YAML alias or a non-string key; write the values out")
				ok = false
				break
			}
		}
	}
	if !ok {
		return nil
	}
	return l
}

func findNamed(list *yaml.Node, name string) (int, *yaml.Node) {
	if list == nil {
		return -1, nil
	}
	for i, item := range list.Content {
		if n := yamlnode.Get(item, "name"); n != nil && n.Value == name {
			return i, item
		}
	}
	return -1, nil
}

// compatibleVolume: a user's aws-iam-token volume that projects a token for
// the binding's audience at path "token" is as good as iambind's.
func compatibleVolume(v *yaml.Node, inj *injection) bool {
	sources := yamlnode.Get(yamlnode.Get(v, "projected"), "sources")
	if sources == nil || sources.Kind != yaml.SequenceNode {
		return false
	}
	for _, s := range sources.Content {
		t := yamlnode.Get(s, "serviceAccountToken")
		aud, p := yamlnode.Get(t, "audience"), yamlnode.Get(t, "path")
		if aud != nil && p != nil && aud.Value == inj.tokenAudience() && p.Value == inj.profile.file {
			return true
		}
	}
	return false
}

func tokenVolume(inj *injection) *yaml.Node {
	return mapNode(
		strNode("name"), strNode(inj.profile.volume),
		strNode("projected"), mapNode(
			strNode("sources"), &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{mapNode(
				strNode("serviceAccountToken"), mapNode(
					strNode("audience"), strNode(inj.tokenAudience()),
					strNode("expirationSeconds"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: itoa64(inj.expiration)},
					strNode("path"), strNode(inj.profile.file),
				),
			)}},
		),
	)
}

func tokenMount(p *tokenProfile) *yaml.Node {
	return mapNode(
		strNode("name"), strNode(p.volume),
		strNode("mountPath"), strNode(p.mountPath),
		strNode("readOnly"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"},
	)
}

// apply writes the decided state: entries iambind owned and no longer wants
// go, wanted ones are updated in place or appended, and the marker records
// the new ownership. Lists and maps iambind emptied are removed.
func (c *podChange) apply() {
	for _, cc := range c.containers {
		cc.apply()
	}
	for _, p := range profiles {
		switch {
		case c.volume != nil && c.profile == p:
			upsertNamed(c.spec, "volumes", c.volume, c.oldVolumes[p.volumeItem])
		case c.oldVolumes[p.volumeItem]:
			removeNamed(c.spec, "volumes", p.volume)
		}
	}
	setMarker(c.tmpl, c.marker)
}

func (cc *containerChange) apply() {
	keep := map[string]bool{}
	for _, e := range cc.env {
		keep[e.name] = true
	}
	for _, it := range cc.oldOwned {
		p := profileOfItem(it)
		switch {
		case p != nil && cc.mount != p:
			removeNamed(cc.node, "volumeMounts", p.volume)
		case p == nil && !keep[it]:
			removeNamed(cc.node, "env", it)
		}
	}
	owned := map[string]bool{}
	for _, it := range cc.oldOwned {
		owned[it] = true
	}
	for _, e := range cc.env {
		upsertNamed(cc.node, "env", mapNode(strNode("name"), strNode(e.name), strNode("value"), strNode(e.value)), owned[e.name])
	}
	if cc.mount != nil {
		upsertNamed(cc.node, "volumeMounts", tokenMount(cc.mount), owned[cc.mount.mountItem])
	}
}

// upsertNamed puts item into the list parent.key: in place of the entry
// with its name when iambind owns that entry (only if it differs, so a
// re-run writes nothing), else appended.
func upsertNamed(parent *yaml.Node, key string, item *yaml.Node, owned bool) {
	name := yamlnode.Get(item, "name").Value
	l := yamlnode.Get(parent, key)
	if isAbsent(l) {
		mapSet(parent, key, &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{item}})
		return
	}
	if owned {
		if i, cur := findNamed(l, name); cur != nil {
			if !sameNode(cur, item) {
				l.Content[i] = item
			}
			return
		}
	}
	l.Content = append(l.Content, item)
}

// removeNamed removes the entries named name from the list parent.key, and
// the list itself when that emptied it.
func removeNamed(parent *yaml.Node, key, name string) {
	l := yamlnode.Get(parent, key)
	if isAbsent(l) || l.Kind != yaml.SequenceNode {
		return
	}
	kept := l.Content[:0]
	for _, item := range l.Content {
		if n := yamlnode.Get(item, "name"); n == nil || n.Value != name {
			kept = append(kept, item)
		}
	}
	l.Content = kept
	if len(kept) == 0 {
		mapDelete(parent, key)
	}
}

func setMarker(tmpl *yaml.Node, m marker) {
	text := m.String()
	meta := yamlnode.Get(tmpl, "metadata")
	if text == "" {
		if isAbsent(meta) {
			return
		}
		ann := yamlnode.Get(meta, "annotations")
		if isAbsent(ann) || yamlnode.Get(ann, AnnotationInjected) == nil {
			return
		}
		mapDelete(ann, AnnotationInjected)
		if len(ann.Content) == 0 {
			mapDelete(meta, "annotations")
		}
		if len(meta.Content) == 0 {
			mapDelete(tmpl, "metadata")
		}
		return
	}
	if isAbsent(meta) {
		meta = mapNode()
		if yamlnode.Get(tmpl, "metadata") != nil {
			mapSet(tmpl, "metadata", meta)
		} else {
			// Before spec, where people write it.
			tmpl.Content = append([]*yaml.Node{strNode("metadata"), meta}, tmpl.Content...)
		}
	}
	ann := yamlnode.Get(meta, "annotations")
	if isAbsent(ann) {
		ann = mapNode()
		mapSet(meta, "annotations", ann)
	}
	if cur := yamlnode.Get(ann, AnnotationInjected); cur == nil || cur.Value != text {
		mapSet(ann, AnnotationInjected, strNode(text))
	}
}

// sameNode compares two YAML trees by kind, value and content (not style).
func sameNode(a, b *yaml.Node) bool {
	if a.Kind != b.Kind || a.Value != b.Value || len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if !sameNode(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}
