package data

import (
	"errors"
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
)

// SchemaVersion is the version of the batch schemas below. It is stored in
// each schema's metadata under MetaKeySchemaVersion and bumped whenever a
// column is added, removed, renamed or retyped.
const SchemaVersion = "1"

// Schema metadata keys.
const (
	// MetaKeySchemaVersion holds SchemaVersion in every batch schema.
	MetaKeySchemaVersion = "rlpipe.schema_version"
	// MetaKeyBatchKind holds the batch kind: "prompts", "rollouts", "scored" or "train".
	MetaKeyBatchKind = "rlpipe.batch_kind"
)

// Column names of the batch schemas (DESIGN §3). They are part of the
// public on-disk format; no other package spells them as literals.
const (
	ColPromptID         = "prompt_id"
	ColDataset          = "dataset"
	ColPrompt           = "prompt"
	ColAnswer           = "answer"
	ColMeta             = "meta"
	ColSampleIdx        = "sample_idx"
	ColMode             = "mode"
	ColPolicyVersion    = "policy_version"
	ColPromptTokens     = "prompt_tokens"
	ColCompletionTokens = "completion_tokens"
	ColCompletion       = "completion"
	ColLogprobs         = "logprobs"
	ColFinishReason     = "finish_reason"
	ColReward           = "reward"
	ColRewardParts      = "reward_parts"
	ColRewardError      = "reward_error"
	ColAdvantage        = "advantage"
	ColGroupMean        = "group_mean"
	ColGroupStd         = "group_std"
	ColKeep             = "keep"
)

// ErrSchema reports a record or file whose schema is not the expected one.
var ErrSchema = errors.New("data: schema mismatch")

// dictUTF8 is the dictionary<utf8> type used for low-cardinality strings.
var dictUTF8 = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

func promptFields() []arrow.Field {
	return []arrow.Field{
		{Name: ColPromptID, Type: arrow.PrimitiveTypes.Uint64},
		{Name: ColDataset, Type: dictUTF8},
		{Name: ColPrompt, Type: arrow.BinaryTypes.String},
		{Name: ColAnswer, Type: arrow.BinaryTypes.String},
		{Name: ColMeta, Type: arrow.BinaryTypes.String},
	}
}

func rolloutFields() []arrow.Field {
	return append(promptFields(),
		arrow.Field{Name: ColSampleIdx, Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: ColMode, Type: arrow.PrimitiveTypes.Uint8},
		arrow.Field{Name: ColPolicyVersion, Type: arrow.PrimitiveTypes.Int64},
		arrow.Field{Name: ColPromptTokens, Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)},
		arrow.Field{Name: ColCompletionTokens, Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)},
		arrow.Field{Name: ColCompletion, Type: arrow.BinaryTypes.String},
		arrow.Field{Name: ColLogprobs, Type: arrow.ListOf(arrow.PrimitiveTypes.Float32), Nullable: true},
		arrow.Field{Name: ColFinishReason, Type: dictUTF8},
	)
}

func scoredFields() []arrow.Field {
	return append(rolloutFields(),
		arrow.Field{Name: ColReward, Type: arrow.PrimitiveTypes.Float64},
		arrow.Field{Name: ColRewardParts, Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Float64)},
		arrow.Field{Name: ColRewardError, Type: arrow.BinaryTypes.String, Nullable: true},
	)
}

func trainFields() []arrow.Field {
	return append(scoredFields(),
		arrow.Field{Name: ColAdvantage, Type: arrow.PrimitiveTypes.Float32},
		arrow.Field{Name: ColGroupMean, Type: arrow.PrimitiveTypes.Float32},
		arrow.Field{Name: ColGroupStd, Type: arrow.PrimitiveTypes.Float32},
		arrow.Field{Name: ColKeep, Type: arrow.FixedWidthTypes.Boolean},
	)
}

func newSchema(kind string, fields []arrow.Field) *arrow.Schema {
	md := arrow.NewMetadata([]string{MetaKeySchemaVersion, MetaKeyBatchKind}, []string{SchemaVersion, kind})
	return arrow.NewSchema(fields, &md)
}

// PromptsSchema returns a new schema of prompt batches:
// prompt_id uint64, dataset dictionary<utf8>, prompt, answer, meta utf8.
func PromptsSchema() *arrow.Schema { return newSchema("prompts", promptFields()) }

// RolloutsSchema returns a new schema of rollout batches: the prompt columns,
// then sample_idx int32, mode uint8, policy_version int64, prompt_tokens and
// completion_tokens list<int32>, completion utf8, logprobs list<float32>
// (nullable) and finish_reason dictionary<utf8>. completion_tokens is the
// exact record of what was sampled; completion is its text, always valid
// UTF-8 (bytes that are not become U+FFFD, LossyUTF8), so that every
// reader of the files accepts them.
func RolloutsSchema() *arrow.Schema { return newSchema("rollouts", rolloutFields()) }

// ScoredSchema returns a new schema of scored batches: the rollout columns,
// then reward float64, reward_parts map<utf8,float64> and reward_error utf8
// (nullable; null when the reward was computed without error).
func ScoredSchema() *arrow.Schema { return newSchema("scored", scoredFields()) }

// TrainSchema returns a new schema of train batches: the scored columns, then
// advantage, group_mean, group_std float32 and keep bool.
func TrainSchema() *arrow.Schema { return newSchema("train", trainFields()) }

// ValidateSchema reports whether got has exactly want's fields (names, types
// and nullability, in order). Metadata on the schema and on fields is ignored,
// so schemas read back from Parquet (which adds PARQUET:field_id) validate.
// The error wraps ErrSchema and names the first differing column.
func ValidateSchema(got, want *arrow.Schema) error {
	if got.NumFields() != len(want.Fields()) {
		return fmt.Errorf("%w: %d columns, want %d", ErrSchema, got.NumFields(), want.NumFields())
	}
	for i, w := range want.Fields() {
		if err := compareField(got.Field(i), w); err != nil {
			return fmt.Errorf("%w: column %d: %v", ErrSchema, i, err)
		}
	}
	return nil
}

// ValidateRecord is ValidateSchema applied to rec's schema.
func ValidateRecord(rec arrow.Record, want *arrow.Schema) error {
	return ValidateSchema(rec.Schema(), want)
}

// compareField compares name, nullability and type, ignoring metadata and
// the names of list elements (Parquet writers call them "element", Arrow
// "item").
func compareField(got, want arrow.Field) error {
	if got.Name != want.Name {
		return fmt.Errorf("name %q, want %q", got.Name, want.Name)
	}
	if got.Nullable != want.Nullable {
		return fmt.Errorf("%q nullable=%v, want %v", got.Name, got.Nullable, want.Nullable)
	}
	if !sameType(got.Type, want.Type) {
		return fmt.Errorf("%q type %s, want %s", got.Name, got.Type, want.Type)
	}
	return nil
}

func sameType(a, b arrow.DataType) bool {
	la, okA := a.(*arrow.ListType)
	lb, okB := b.(*arrow.ListType)
	if okA && okB {
		return sameType(la.Elem(), lb.Elem())
	}
	return arrow.TypeEqual(a, b)
}

// requireColumns checks that schema has every field of want (by name, any
// order, extra columns allowed) and returns their indices in want's order.
func requireColumns(schema *arrow.Schema, want []arrow.Field) ([]int, error) {
	idx := make([]int, len(want))
	for i, w := range want {
		found := schema.FieldIndices(w.Name)
		if len(found) == 0 {
			return nil, fmt.Errorf("%w: missing column %q", ErrSchema, w.Name)
		}
		if err := compareFieldLoose(schema.Field(found[0]), w); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSchema, err)
		}
		idx[i] = found[0]
	}
	return idx, nil
}

// compareFieldLoose is compareField without the nullability check: a reader
// accepts a nullable column as long as its values are present.
func compareFieldLoose(got, want arrow.Field) error {
	if !sameType(got.Type, want.Type) {
		return fmt.Errorf("%q type %s, want %s", got.Name, got.Type, want.Type)
	}
	return nil
}
