package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iambind/iambind/addons"
)

// workspace copies what addonsgen reads and writes into a temporary root.
func workspace(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	repo := filepath.Join("..", "..", "..")
	for _, dir := range []string{"addons/sources", "addons/policies"} {
		err := filepath.WalkDir(filepath.Join(repo, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(repo, path)
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Join(root, filepath.Dir(rel)), 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(root, rel), data, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"addons/sources.json", "docs/addons.md"} {
		data, err := os.ReadFile(filepath.Join(repo, f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755)
		if err := os.WriteFile(filepath.Join(root, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func read(t *testing.T, root, f string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, f))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestOfflineRunIsAFixedPoint: over the committed files, go generate
// changes nothing; a hand-edited copy is refused.
func TestOfflineRunIsAFixedPoint(t *testing.T) {
	root := workspace(t)
	before := read(t, root, "addons/policies/velero.json") + read(t, root, "docs/addons.md") + read(t, root, "addons/sources.json")
	if err := run(root, false, ""); err != nil {
		t.Fatal(err)
	}
	if after := read(t, root, "addons/policies/velero.json") + read(t, root, "docs/addons.md") + read(t, root, "addons/sources.json"); after != before {
		t.Error("an offline run changed committed files")
	}
	copyPath := filepath.Join(root, "addons", "sources", "velero-plugin-for-aws", "README.md")
	os.WriteFile(copyPath, []byte(strings.Replace(read(t, root, "addons/sources/velero-plugin-for-aws/README.md"), "s3:ListBucket", "s3:*", 1)), 0o644)
	err := run(root, false, "")
	if err == nil || !strings.Contains(err.Error(), "sources.json records") {
		t.Fatalf("a copy that lost its recorded hash: err = %v", err)
	}
}

// TestFetchRecordsNewUpstream: -fetch downloads each file at its pinned
// commit, records the new hash and re-extracts the documents from it.
func TestFetchRecordsNewUpstream(t *testing.T) {
	root := workspace(t)
	var m addons.Manifest
	if err := json.Unmarshal([]byte(read(t, root, "addons/sources.json")), &m); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, s := range m.Sources {
		body := read(t, root, filepath.Join("addons", s.Copy))
		if s.ID == "velero" { // upstream added an action
			body = strings.Replace(body, `"s3:ListMultipartUploadParts"`, `"s3:ListMultipartUploadParts",
                    "s3:GetObjectTagging"`, 1)
		}
		files["/"+s.Repo+"/"+s.Commit+"/"+s.Path] = body
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body))
	}))
	defer srv.Close()
	if err := run(root, true, srv.URL); err != nil {
		t.Fatal(err)
	}
	if doc := read(t, root, "addons/policies/velero.json"); !strings.Contains(doc, "s3:GetObjectTagging") {
		t.Errorf("the refreshed velero document lacks the new action:\n%s", doc)
	}
	manifest := read(t, root, "addons/sources.json")
	if want := addons.SHA256([]byte(files["/vmware-tanzu/velero-plugin-for-aws/18469e7330ee47fbcefbf6ce4c0f68dfc273c5d5/README.md"])); !strings.Contains(manifest, want) {
		t.Errorf("sources.json does not record the new hash %s", want)
	}
	if !strings.Contains(read(t, root, "docs/addons.md"), addons.SHA256([]byte(files["/vmware-tanzu/velero-plugin-for-aws/18469e7330ee47fbcefbf6ce4c0f68dfc273c5d5/README.md"]))) {
		t.Error("docs/addons.md does not show the new hash")
	}
	// A second offline run accepts what -fetch recorded.
	if err := run(root, false, ""); err != nil {
		t.Fatal(err)
	}
	recorded := read(t, root, "addons/sources.json")
	delete(files, "/vmware-tanzu/velero-plugin-for-aws/18469e7330ee47fbcefbf6ce4c0f68dfc273c5d5/README.md")
	files["/kubernetes-sigs/external-dns/994f908d4abdfe5fbf38f2f61613ed570432e43a/docs/tutorials/aws.md"] = "CHANGED-UPSTREAM"
	if err := run(root, true, srv.URL); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("a source missing upstream: err = %v", err)
	}
	if read(t, root, "addons/sources.json") != recorded || strings.Contains(read(t, root, "addons/sources/external-dns/aws.md"), "CHANGED-UPSTREAM") {
		t.Error("a failed -fetch changed files")
	}
}
