// Package catalog knows IAM offline: every service prefix, its actions, its
// resource types with their ARN formats, its condition keys, and the global
// condition keys. It is a snapshot of AWS's Service Authorization Reference
// (source.txt names the package, version and date; docs/lint.md says how to
// refresh it), embedded compressed and decoded on first use, so a process
// that never lints a policy never pays for it.
package catalog

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/iambind/iambind/internal/iamglob"
)

//go:generate go run ./gen -src ../../.cache/iam-data.tgz -out .

//go:embed catalog.txt.gz
var compressed []byte

//go:embed source.txt
var sourceText string

// Source is the catalogue's provenance: package, version, date and the
// sha256 of the package tarball it was generated from, one per line.
func Source() string { return sourceText }

// Catalog is the decoded catalogue.
type Catalog struct {
	services map[string]*Service // by lower-case prefix
	prefixes []string            // sorted, for suggestions
	global   []keyPattern
}

// Service is one IAM service prefix. Its actions, resource types and
// condition keys are parsed on first use: a policy names a handful of the
// catalogue's 450 services.
type Service struct {
	Prefix string
	Name   string

	body string // its catalogue lines
	once sync.Once
	data serviceData
}

type serviceData struct {
	actions       []string          // as AWS spells them, sorted
	lowerActions  []string          // the same, lower-case
	lower         map[string]string // lower-case name -> as AWS spells it
	resources     []Resource
	conditionKeys []string
	keys          []keyPattern
	arnServices   []string // the distinct service fields of its resources' ARNs
}

func (s *Service) parsed() *serviceData {
	s.once.Do(func() {
		d := &s.data
		d.lower = map[string]string{}
		for _, line := range strings.Split(s.body, "\n") {
			tag, rest, _ := strings.Cut(line, " ")
			switch tag {
			case "A":
				d.actions = append(d.actions, rest)
				d.lowerActions = append(d.lowerActions, strings.ToLower(rest))
				d.lower[strings.ToLower(rest)] = rest
			case "R":
				name, arns, _ := strings.Cut(rest, " ")
				r := Resource{Name: name, ARNs: strings.Split(arns, ", ")}
				d.resources = append(d.resources, r)
				for _, a := range r.ARNs {
					if as := ARNService(a); as != "" && !slices.Contains(d.arnServices, as) {
						d.arnServices = append(d.arnServices, as)
					}
				}
			case "K":
				d.conditionKeys = append(d.conditionKeys, rest)
				d.keys = append(d.keys, newKeyPattern(rest))
			}
		}
	})
	return &s.data
}

// Actions are the service's action names as AWS spells them, sorted.
func (s *Service) Actions() []string { return s.parsed().actions }

// Resources are the service's resource types, sorted by name.
func (s *Service) Resources() []Resource { return s.parsed().resources }

// ConditionKeys are the service's condition keys as AWS spells them (with
// placeholders such as ${TagKey}), sorted.
func (s *Service) ConditionKeys() []string { return s.parsed().conditionKeys }

// Resource is a resource type and its ARN formats.
type Resource struct {
	Name string
	ARNs []string // e.g. arn:${Partition}:s3:::${BucketName}
}

// keyPattern matches a condition key, case-insensitively, with each
// placeholder (${TagKey}, or <key> in a few of S3's keys) standing for any
// text.
type keyPattern struct {
	key  string // as AWS spells it
	glob string // lower-case, placeholders as *
}

func newKeyPattern(key string) keyPattern {
	var b strings.Builder
	rest := strings.ToLower(key)
	for rest != "" {
		open, closing := "${", "}"
		i := strings.Index(rest, open)
		if j := strings.IndexByte(rest, '<'); j >= 0 && (i < 0 || j < i) {
			i, open, closing = j, "<", ">"
		}
		if i < 0 {
			b.WriteString(rest)
			break
		}
		j := strings.Index(rest[i+len(open):], closing)
		if j < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		b.WriteString("*")
		rest = rest[i+len(open)+j+len(closing):]
	}
	return keyPattern{key: key, glob: b.String()}
}

func (p keyPattern) match(lowerKey string) bool {
	if !strings.Contains(p.glob, "*") {
		return p.glob == lowerKey
	}
	return iamglob.Match(p.glob, lowerKey)
}

// Load returns the catalogue, decoding it on the first call unless Prefetch
// has already decoded it. It never waits for a Prefetch under way.
func Load() *Catalog {
	if c := current.Load(); c != nil {
		return c
	}
	decodeOnce.Do(func() { current.CompareAndSwap(nil, mustDecode()) })
	return current.Load()
}

// Prefetch decodes the catalogue ahead of its first use, for a caller with
// time to spare now, on a thread of low priority say: a Load that comes
// first does not wait for it (it decodes the catalogue itself), so a
// prefetch that never gets a core delays nobody.
func Prefetch() {
	if current.Load() == nil {
		current.CompareAndSwap(nil, mustDecode())
	}
}

var (
	current    atomic.Pointer[Catalog] // the first catalogue decoded, by Load or Prefetch
	decodeOnce sync.Once               // Load's decoding: its callers wait for each other, not for Prefetch
)

func mustDecode() *Catalog {
	c, err := decode(compressed)
	if err != nil {
		// The data is embedded and tested: only a broken build gets here.
		panic(fmt.Sprintf("iambind: the embedded IAM catalogue is corrupt: %v", err))
	}
	return c
}

func decode(gz []byte) (*Catalog, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	// gzip's trailer holds the uncompressed size: read into one buffer of
	// it (a strings.Builder's String does not copy it again).
	var sb strings.Builder
	if n := len(gz); n >= 4 {
		sb.Grow(int(binary.LittleEndian.Uint32(gz[n-4:])))
	}
	if _, err := io.Copy(&sb, zr); err != nil {
		return nil, err
	}
	text := sb.String()
	c := &Catalog{services: map[string]*Service{}}
	var svc *Service
	bodyStart := 0
	closeService := func(end int) {
		if svc != nil {
			svc.body = text[bodyStart:end]
		}
	}
	globals := map[string]bool{}
	for pos, n := 0, 1; pos < len(text); n++ {
		end := strings.IndexByte(text[pos:], '\n')
		if end < 0 {
			end = len(text) - pos
		}
		line := text[pos : pos+end]
		lineStart := pos
		pos += end + 1
		tag, rest, _ := strings.Cut(line, " ")
		switch tag {
		case "#":
		case "S":
			closeService(lineStart)
			prefix, name, _ := strings.Cut(rest, " ")
			svc = &Service{Prefix: prefix, Name: name}
			bodyStart = pos
			c.services[strings.ToLower(prefix)] = svc
			c.prefixes = append(c.prefixes, prefix)
		case "A", "R":
			if svc == nil {
				return nil, fmt.Errorf("line %d: %q before any service", n, tag)
			}
		case "K":
			if svc == nil {
				return nil, fmt.Errorf("line %d: %q before any service", n, tag)
			}
			// Every aws: key a service lists is global too (aws:RequestTag/...).
			if strings.HasPrefix(rest, "aws:") && !globals[strings.ToLower(rest)] {
				globals[strings.ToLower(rest)] = true
				c.global = append(c.global, newKeyPattern(rest))
			}
		case "G":
			closeService(lineStart)
			svc = nil
			if !globals[strings.ToLower(rest)] {
				globals[strings.ToLower(rest)] = true
				c.global = append(c.global, newKeyPattern(rest))
			}
		default:
			return nil, fmt.Errorf("line %d: unknown record %q", n, tag)
		}
	}
	closeService(len(text))
	slices.Sort(c.prefixes)
	return c, nil
}

// ARNService is the service field of an ARN or ARN format
// (arn:${Partition}:s3:::${BucketName} -> s3), "" when it is not an ARN.
func ARNService(arn string) string {
	parts := strings.SplitN(arn, ":", 4)
	if len(parts) < 4 || parts[0] != "arn" {
		return ""
	}
	return parts[2]
}

// Prefixes are every service prefix, sorted.
func (c *Catalog) Prefixes() []string { return c.prefixes }

// Service returns the service of a prefix (any letter case), or nil.
func (c *Catalog) Service(prefix string) *Service { return c.services[strings.ToLower(prefix)] }

// Action returns the action as AWS spells it and true when the service
// has it; IAM matches action names without regard to case.
func (s *Service) Action(name string) (string, bool) {
	a, ok := s.parsed().lower[strings.ToLower(name)]
	return a, ok
}

// ServicesWithAction returns the prefixes of the services that have the
// action name (any case), sorted. It reads every service.
func (c *Catalog) ServicesWithAction(name string) []string {
	var out []string
	for _, p := range c.prefixes {
		if _, ok := c.services[strings.ToLower(p)].Action(name); ok {
			out = append(out, p)
		}
	}
	return out
}

// MatchActions returns the service's actions the glob (* and ?, any case)
// matches.
func (s *Service) MatchActions(glob string) []string {
	g := strings.ToLower(glob)
	d := s.parsed()
	var out []string
	for i, a := range d.lowerActions {
		if iamglob.Match(g, a) {
			out = append(out, d.actions[i])
		}
	}
	return out
}

// MatchesAction reports whether the glob matches any action of the service;
// it stops at the first.
func (s *Service) MatchesAction(glob string) bool {
	g := strings.ToLower(glob)
	for _, a := range s.parsed().lowerActions {
		if iamglob.Match(g, a) {
			return true
		}
	}
	return false
}

// ARNServices are the service fields of the ARNs of the service's resource
// types: s3 for s3, iam for sts (it assumes roles), ec2 and ssm for ssm.
func (s *Service) ARNServices() []string { return s.parsed().arnServices }

// ConditionKey returns the service's key that key (any case) is, and true;
// a key with a placeholder matches any text in its place
// (s3:ExistingObjectTag/${TagKey} is s3:ExistingObjectTag/team).
func (s *Service) ConditionKey(key string) (string, bool) {
	return matchKey(s.parsed().keys, key)
}

// GlobalConditionKey is ConditionKey over the global keys (aws:SourceIp,
// aws:PrincipalTag/${TagKey}, and the few other services' keys that every
// request may carry, such as ec2:SourceInstanceArn).
func (c *Catalog) GlobalConditionKey(key string) (string, bool) {
	return matchKey(c.global, key)
}

// GlobalConditionKeys are the global keys as AWS spells them, sorted.
func (c *Catalog) GlobalConditionKeys() []string {
	out := make([]string, 0, len(c.global))
	for _, k := range c.global {
		out = append(out, k.key)
	}
	slices.Sort(out)
	return out
}

func matchKey(keys []keyPattern, key string) (string, bool) {
	lk := strings.ToLower(key)
	for _, k := range keys {
		if k.match(lk) {
			return k.key, true
		}
	}
	return "", false
}

// Date is the day the catalogue's source was built (2026-09-26).
func Date() string {
	for _, line := range strings.Split(sourceText, "\n") {
		if d, ok := strings.CutPrefix(line, "updated "); ok && len(d) >= 10 {
			return d[:10]
		}
	}
	return "unknown date"
}
