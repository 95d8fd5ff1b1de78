#!/usr/bin/env bash
# kustomize-work.sh — how much work `kustomize build` does with iambind-fn, counted instead of timed.
#
# Wall time of a big kustomize build varies 2-4x between identical runs on a shared VM (the time goes
# into pointer-chasing scans whose cost depends on the memory system), so ratios of single timings
# cannot settle a 1.3x goal. This script builds kustomize v5.8.2 from the Go module cache with two
# counters added, and reports, for alone / no-op exec function / iambind-fn at each size:
#   ids     resource ids computed (api/resource.(*Resource).CurId: each walks the object's YAML for
#           apiVersion, kind, metadata.name and metadata.namespace)
#   steps   mapping keys visited by kyaml's field lookups (the loop where those walks spend their time)
# Both are exact and the same on every run and machine. Two builds are counted:
#   stock    kustomize as released (the counters only)
#   indexed  the same, with the merge of a function's output (api/internal/plugins/utils.
#            UpdateResMapValues) finding resources through a map keyed by id instead of linear scans:
#            what an upstream fix would give. Its output is byte-identical to stock's on these inputs
#            (checked below).
#
# Environment: SIZES (default "1000 2000 4000"), BIN (default ./bin), WORK (default a temporary
# directory, removed at exit). Needs Go, python3 and the module proxy (or a warm module cache).
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
BIN=${BIN:-$PWD/bin}
SIZES=${SIZES:-1000 2000 4000}
KUSTOMIZE_VERSION=v5.8.2
KYAML_VERSION=v0.21.2 # api and kyaml versions kustomize v5.8.2 requires

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
scratch_dir WORK
scratch_dir BIN

echo "== building iambind-fn and kustgen"
$GO build -o "$BIN/iambind-fn" ./fn
$GO build -o "$BIN/kustgen" ./bench/kustgen

# module_dir MODULE@VERSION: the module's source in the module cache (downloaded if needed).
module_dir() { (cd "$WORK" && GOFLAGS=-mod=mod $GO mod download -json "$1") | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'; }

echo "== building counting kustomize $KUSTOMIZE_VERSION (stock and indexed merge) in $WORK"
for variant in stock indexed; do
	src=$WORK/src-$variant
	rm -rf "$src" && mkdir -p "$src"
	cp -r "$(module_dir sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION)" "$src/kustomize"
	cp -r "$(module_dir sigs.k8s.io/kustomize/api@$KYAML_VERSION)" "$src/api"
	cp -r "$(module_dir sigs.k8s.io/kustomize/kyaml@$KYAML_VERSION)" "$src/kyaml"
	chmod -R u+w "$src"
	python3 - "$src" "$variant" <<'PATCH'
import re, sys
src, variant = sys.argv[1], sys.argv[2]

def patch(path, old, new, count=1):
    path = f"{src}/{path}"
    text = open(path).read()
    if text.count(old) != count:
        sys.exit(f"kustomize-work.sh: {path} is not the expected source (looked for {old!r})")
    open(path, "w").write(text.replace(old, new))

# Counter 1: every resource id computed.
patch("api/resource/resource.go", "func (r *Resource) CurId() resid.ResId {\n",
      "// IdsComputed counts CurId calls (scripts/kustomize-work.sh).\nvar IdsComputed atomic.Int64\n\n"
      "func (r *Resource) CurId() resid.ResId {\n\tIdsComputed.Add(1)\n")
patch("api/resource/resource.go", "import (\n", "import (\n\t\"sync/atomic\"\n")
# Counter 2: every mapping key a field lookup visits.
patch("kyaml/yaml/rnode.go",
      "func visitFieldsWhileTrue(content []*yaml.Node, fn func(key, value *yaml.Node, keyIndex int) bool) {\n"
      "\tfor i := 0; i < len(content); i += 2 {\n",
      "// KeysVisited counts the keys field lookups visit (scripts/kustomize-work.sh).\nvar KeysVisited atomic.Int64\n\n"
      "func visitFieldsWhileTrue(content []*yaml.Node, fn func(key, value *yaml.Node, keyIndex int) bool) {\n"
      "\tfor i := 0; i < len(content); i += 2 {\n\t\tKeysVisited.Add(1)\n")
patch("kyaml/yaml/rnode.go", "import (\n", "import (\n\t\"sync/atomic\"\n")
patch("kustomize/main.go", "\tos.Exit(0)\n",
      "\tfmt.Fprintf(os.Stderr, \"COUNTS ids=%d steps=%d\\n\", resource.IdsComputed.Load(), kyaml.KeysVisited.Load())\n\tos.Exit(0)\n")
patch("kustomize/main.go", "import (\n\t\"os\"\n",
      "import (\n\t\"fmt\"\n\t\"os\"\n\n\t\"sigs.k8s.io/kustomize/api/resource\"\n\tkyaml \"sigs.k8s.io/kustomize/kyaml/yaml\"\n")

if variant == "indexed":
    # The merge of a function's output, by id through maps: each id computed once, not per comparison.
    path = f"{src}/api/internal/plugins/utils/utils.go"
    text = open(path).read()
    start = text.index("func UpdateResMapValues(")
    end = text.index("\n}\n", start) + 3
    text = text[:start] + '''type mergeKey struct{ group, version, kind, name, namespace string }

func mergeKeyOf(id resid.ResId) mergeKey {
	return mergeKey{id.Group, id.Version, id.Kind, id.Name, id.EffectiveNamespace()}
}

func UpdateResMapValues(pluginName string, h *resmap.PluginHelpers, output []byte, rm resmap.ResMap) error {
	resources, err := h.ResmapFactory().RF().SliceFromBytes(output)
	if err != nil {
		return err
	}
	old := map[mergeKey]int{}
	for i, r := range rm.Resources() {
		old[mergeKeyOf(r.CurId())] = i
	}
	emitted := map[mergeKey]bool{}
	var added []*resource.Resource
	for _, r := range resources {
		if err = removeIDAnnotation(r); err != nil {
			return err
		}
		key := mergeKeyOf(r.CurId())
		if emitted[key] {
			return fmt.Errorf("plugin %s generated duplicate resource: %s", pluginName, r.CurId())
		}
		emitted[key] = true
		if i, found := old[key]; found {
			rm.GetByIndex(i).ResetRNode(r)
		} else {
			added = append(added, r)
		}
	}
	for _, id := range rm.AllIds() {
		if !emitted[mergeKeyOf(id)] {
			if err = rm.Remove(id); err != nil {
				return err
			}
		}
	}
	for _, r := range added {
		rm.(interface{ AppendUnchecked(*resource.Resource) }).AppendUnchecked(r)
	}
	return nil
}
''' + text[end:]
    text = text.replace('\t"encoding/json"\n', "").replace(
        '\t"sigs.k8s.io/kustomize/api/types"\n', '\t"sigs.k8s.io/kustomize/api/types"\n\t"sigs.k8s.io/kustomize/kyaml/resid"\n')
    open(path, "w").write(text)
    patch("api/resmap/reswrangler.go", "// append appends without performing an Id check\n",
          "// AppendUnchecked appends without an id check (the indexed merge checked it).\n"
          "func (m *resWrangler) AppendUnchecked(res *resource.Resource) { m.append(res) }\n\n"
          "// append appends without performing an Id check\n")
PATCH
	(
		cd "$src/api" && $GO mod edit -replace sigs.k8s.io/kustomize/kyaml=../kyaml
		cd "$src/kustomize" && $GO mod edit -replace sigs.k8s.io/kustomize/api=../api -replace sigs.k8s.io/kustomize/kyaml=../kyaml
		GOFLAGS=-mod=mod $GO build -o "$WORK/kustomize-$variant" .
	)
done

write_noop_function "$WORK/noop"
echo "== date: $(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); load average$(uptime | sed 's/.*load average//')"

results=$WORK/results.tsv
: >"$results"
for n in $SIZES; do
	d=$WORK/$n
	rm -rf "$d" && mkdir -p "$d"
	"$BIN/kustgen" -n "$n" -dir "$d/alone"
	"$BIN/kustgen" -n "$n" -dir "$d/no-op" -exec "$WORK/noop"
	"$BIN/kustgen" -n "$n" -dir "$d/iambind-fn" -exec "$BIN/iambind-fn"
	for variant in stock indexed; do
		for build in alone no-op iambind-fn; do
			start=$(date +%s%N)
			"$WORK/kustomize-$variant" build --enable-alpha-plugins --enable-exec "$d/$build" >"$d/$build.$variant.yaml" 2>"$d/$build.$variant.err" ||
				{ cat "$d/$build.$variant.err" >&2; exit 1; }
			wall_ms=$((($(date +%s%N) - start) / 1000000))
			counts=$(sed -n 's/^COUNTS ids=\([0-9]*\) steps=\([0-9]*\)$/\1\t\2/p' "$d/$build.$variant.err")
			printf '%s\t%s\t%s\t%s\t%d.%03d\n' "$n" "$variant" "$build" "$counts" $((wall_ms / 1000)) $((wall_ms % 1000)) | tee -a "$results"
		done
	done
	for build in alone no-op iambind-fn; do
		cmp -s "$d/$build.stock.yaml" "$d/$build.indexed.yaml" ||
			{ echo "kustomize-work.sh: indexed merge changed the output of $build at $n" >&2; exit 1; }
	done
done

# results.tsv: SIZE VARIANT BUILD IDS STEPS WALL_S
awk -F'\t' '
{ ids[$1, $2, $3] = $4; steps[$1, $2, $3] = $5; wall[$1, $2, $3] = $6; if (!($1 in seen)) { seen[$1] = 1; sizes[++ns] = $1 } }
END {
	print ""
	print "kustomize build: resource ids computed and mapping keys visited (millions; exact), wall seconds of this one run"
	printf "%-9s %-8s | %-22s | %-22s | %-22s | %s\n", "resources", "kustomize", "alone", "no-op function", "iambind-fn", "iambind-fn / no-op (ids, keys, wall)"
	for (i = 1; i <= ns; i++) for (v = 1; v <= 2; v++) {
		n = sizes[i]; k = (v == 1 ? "stock" : "indexed")
		printf "%9d %-8s | %6.1f %7.1f %6.1fs | %6.1f %7.1f %6.1fs | %6.1f %7.1f %6.1fs | %.2fx %.2fx %.2fx\n", n, k,
			ids[n, k, "alone"] / 1e6, steps[n, k, "alone"] / 1e6, wall[n, k, "alone"],
			ids[n, k, "no-op"] / 1e6, steps[n, k, "no-op"] / 1e6, wall[n, k, "no-op"],
			ids[n, k, "iambind-fn"] / 1e6, steps[n, k, "iambind-fn"] / 1e6, wall[n, k, "iambind-fn"],
			ids[n, k, "iambind-fn"] / ids[n, k, "no-op"], steps[n, k, "iambind-fn"] / steps[n, k, "no-op"],
			wall[n, k, "iambind-fn"] / wall[n, k, "no-op"]
	}
}' "$results"
