package generator

// The JSON Schemas in schemas/ are generated from the types of this package;
// a test fails when they differ from what this produces.
//go:generate go run ../tools/schemagen -root ..
