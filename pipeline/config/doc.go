// Package config builds rlpipe's run configuration: a tree of Go structs
// decoded from YAML documents and `--set key=value` overrides on top of the
// defaults already in the tree, with unknown keys rejected by their full
// dotted path, every node's Validate() called, and a canonical Marshal and
// Hash of the resolved tree.
//
// Keys are the structs' yaml tags (snake_case by convention; a field without
// a tag uses its lower-cased name, as yaml.v3 does). Fields tagged "-" and
// unexported fields are ignored; `yaml:",inline"` embeds a struct's keys.
//
// Merge rules, applied in order (files, then --set flags):
//   - structs merge field by field: keys not mentioned keep their value;
//   - maps merge key by key, and a key set to null is deleted;
//   - slices and scalars are replaced; slice elements start from their
//     zero value;
//   - null sets a pointer, map, slice or interface to nil and is rejected
//     for scalars.
//
// time.Duration fields take strings such as "30s" (a bare 0 is accepted).
// A field that takes a number or a keyword follows the pattern of OrAuto:
// a small struct with UnmarshalYAML and MarshalYAML methods.
package config
