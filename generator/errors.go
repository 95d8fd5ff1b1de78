package generator

import (
	"fmt"
	"sort"
	"strings"
)

// Severity of a Problem, mirroring KRM result severities.
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// ResourceRef names the object a Problem is about.
type ResourceRef struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
}

func (r ResourceRef) String() string {
	if r.Namespace != "" {
		return fmt.Sprintf("%s %s/%s", r.Kind, r.Namespace, r.Name)
	}
	return fmt.Sprintf("%s %s", r.Kind, r.Name)
}

// Problem is a finding about one field of one resource. Every validation
// error and warning is a Problem, so it can become a KRM result with
// resourceRef + field.path and a one-line message for stderr.
type Problem struct {
	Severity Severity
	Resource ResourceRef
	Field    string // dotted path such as spec.role.maxSessionDuration
	Message  string
}

// String is the one-line, human form used on stderr.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(string(p.Severity))
	b.WriteString(": ")
	b.WriteString(p.Resource.String())
	if p.Field != "" {
		b.WriteString(": ")
		b.WriteString(p.Field)
	}
	b.WriteString(": ")
	b.WriteString(p.Message)
	return b.String()
}

// Problems is an ordered list of findings.
type Problems []Problem

// HasErrors reports whether any problem has error severity.
func (ps Problems) HasErrors() bool {
	for _, p := range ps {
		if p.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Errors returns only the error-severity problems.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if p.Severity == SeverityError {
			out = append(out, p)
		}
	}
	return out
}

// sorted orders problems by severity, resource, then field, so output is stable.
func (ps Problems) sorted() Problems {
	rank := map[Severity]int{SeverityError: 0, SeverityWarning: 1, SeverityInfo: 2}
	out := append(Problems(nil), ps...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if rank[a.Severity] != rank[b.Severity] {
			return rank[a.Severity] < rank[b.Severity]
		}
		if a.Resource.String() != b.Resource.String() {
			return a.Resource.String() < b.Resource.String()
		}
		return a.Field < b.Field
	})
	return out
}

// problemSink collects problems about one resource.
type problemSink struct {
	ref      ResourceRef
	problems *Problems
}

func (s problemSink) errorf(field, format string, args ...any) {
	*s.problems = append(*s.problems, Problem{SeverityError, s.ref, field, fmt.Sprintf(format, args...)})
}

// erredSince reports whether an error was reported after the first n
// problems: a step that validates several fields goes on only when none of
// its own checks failed, whatever was reported before it.
func (s problemSink) erredSince(n int) bool {
	return (*s.problems)[n:].HasErrors()
}

func (s problemSink) warnf(field, format string, args ...any) {
	*s.problems = append(*s.problems, Problem{SeverityWarning, s.ref, field, fmt.Sprintf(format, args...)})
}
