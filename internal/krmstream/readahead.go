package krmstream

import (
	"bytes"
	"errors"
	"hash/maphash"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// An Input is a stream read to its end, with the documents that were
// decoded while the rest was still arriving.
//
// In a pipe (`kustomize build | iambind-fn`) the producer writes its output
// over some milliseconds, a pipe buffer at a time; reading it all before
// parsing any of it leaves the cores idle then and puts the whole parse
// after the producer's exit, where the user waits for it. ReadInput decodes
// each document as soon as the separator after it has arrived. Input.Stream
// then splits the whole text as always and takes a decoded document only
// where its text is exactly the text decoded ahead, so the result is the
// same as reading first and parsing after; a document that was not ready
// (the last one, one behind an invalid separator) is decoded then.
type Input struct {
	Data  []byte
	seed  maphash.Seed
	aside AsideFunc
	ahead map[string][]decoded // by document text; identical documents queue up
}

// decoded is one document's parse: its objects, the fingerprint of its tree
// when its text can stand for it (0 when not), or the error; or, instead,
// that it is set aside.
type decoded struct {
	nodes []*yaml.RNode
	print uint64
	err   error
	aside bool
}

// ReadInput reads r to its end, decoding documents on every CPU as they
// complete.
func ReadInput(r io.Reader) (*Input, error) {
	return ReadInputSettingAside(r, nil)
}

// An AsideFunc tells, from a plain document's text and the apiVersion and
// kind read from it, whether the caller can do without its object.
type AsideFunc func(apiVersion, kind, text string) bool

// ReadInputSettingAside is ReadInput, except that the documents aside
// accepts are not parsed at all: Input.Stream keeps their text apart, and
// Stream.Write puts it back in place. Only a plain document (plainObject:
// a subset of YAML that parses without error, read without parsing) with
// no file annotation and no directive or end marker is offered to aside;
// every other one is parsed as always.
func ReadInputSettingAside(r io.Reader, aside AsideFunc) (*Input, error) {
	in := &Input{seed: maphash.MakeSeed(), aside: aside}
	ra := readAhead{in: in, jobs: make(chan string, maxQueued)}
	buf := make([]byte, 0, initialSize(r))
	scanned, prev := 0, 0 // where the next line starts; where the current document starts
	for {
		if len(buf) == cap(buf) {
			// Doubled, not append's 1.25×: a large input is copied a few
			// times rather than dozens, and leaves little garbage behind.
			buf = append(make([]byte, 0, 2*cap(buf)), buf...)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		scanned, prev = ra.scan(buf, scanned, prev)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			ra.finish()
			return nil, err
		}
	}
	ra.finish()
	in.Data, in.ahead = buf, ra.done // a nil map when nothing was decoded ahead
	return in, nil
}

// initialSize is the buffer a read starts with: a file's size and one byte
// (to see the end without growing), else 64 KiB.
func initialSize(r io.Reader) int {
	if f, ok := r.(interface{ Stat() (os.FileInfo, error) }); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() < 1<<40 {
			return int(fi.Size()) + 1
		}
	}
	return 64 << 10
}

// maxQueued bounds the documents waiting for a worker; past it the reader
// moves on and the document is decoded after the read.
const maxQueued = 4096

// readAhead decodes documents handed to it on GOMAXPROCS workers.
type readAhead struct {
	in      *Input // its seed and aside
	jobs    chan string
	wg      sync.WaitGroup
	started bool
	stopped bool // an invalid separator: split will refuse the stream
	mu      sync.Mutex
	done    map[string][]decoded
}

// scan looks at the complete lines of buf from scanned on, as split does,
// and hands each document that a separator line closes to the workers.
// It returns where scanning goes on and where the open document starts.
func (ra *readAhead) scan(buf []byte, scanned, prev int) (int, int) {
	for !ra.stopped {
		end := bytes.IndexByte(buf[scanned:], '\n')
		if end < 0 {
			return scanned, prev
		}
		start := scanned
		end += start
		if line := buf[start:end]; bytes.HasPrefix(line, []byte("---")) {
			if !validSeparator(string(line)) {
				ra.stopped = true
				break
			}
			if start > 0 {
				ra.submit(strings.ReplaceAll(string(buf[prev:start]), "\r\n", "\n"))
			}
			prev = end
		}
		scanned = end + 1
	}
	return scanned, prev
}

// finish waits for the workers: none outlives the read.
func (ra *readAhead) finish() {
	close(ra.jobs)
	ra.wg.Wait()
}

func (ra *readAhead) submit(doc string) {
	if !ra.started {
		ra.started = true
		ra.done = map[string][]decoded{}
		for range runtime.GOMAXPROCS(0) {
			ra.wg.Go(func() {
				for doc := range ra.jobs {
					d := ra.in.decodeDocument(doc)
					ra.mu.Lock()
					ra.done[doc] = append(ra.done[doc], d)
					ra.mu.Unlock()
				}
			})
		}
	}
	select {
	case ra.jobs <- doc:
	default: // all busy and the queue full: decoded after the read
	}
}

// decodeDocument is one document's decoding, as Stream does it: set
// aside, or parsed.
func (in *Input) decodeDocument(doc string) decoded {
	if in.setsAside(doc) {
		return decoded{aside: true}
	}
	return parseDocument(in.seed, doc)
}

// parseDocument parses one document.
func parseDocument(seed maphash.Seed, doc string) (d decoded) {
	defer recoverInto(&d.err)
	d.nodes, d.err = decode(doc)
	if d.err == nil && len(d.nodes) == 1 && verbatimSafe(doc) {
		d.print = fingerprint(seed, d.nodes[0].YNode())
	}
	return d
}

// setsAside tells whether doc is set aside: a plain object whose text can
// stand for it in the output (Stream.Write writes it as it came), that
// ClearFileAnnotations would not change, and that in.aside accepts.
func (in *Input) setsAside(doc string) bool {
	if in.aside == nil || !verbatimSafe(doc) || strings.Contains(doc, fileAnnotationsDomain) {
		return false
	}
	apiVersion, kind, ok := plainObject(doc)
	return ok && in.aside(apiVersion, kind, doc)
}

// fileAnnotationsDomain is in the key of each of FileAnnotations.
const fileAnnotationsDomain = "config.kubernetes.io/"

// take returns the decoding of doc made during the read, once: each
// decoded tree goes to one object only.
func (in *Input) take(doc string) (decoded, bool) {
	ds := in.ahead[doc]
	if len(ds) == 0 {
		return decoded{}, false
	}
	in.ahead[doc] = ds[1:]
	return ds[0], true
}
