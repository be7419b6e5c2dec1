package app

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// configKeyTests maps every leaf key of `rlpipe config default` to the
// tests ("package/dir.TestName") that fail if the key stopped doing what it
// says: tests that observe behaviour change (prompts, weights, metrics,
// requests, files), not ones that merely parse or validate the key. Users
// trust a key the moment `rlpipe config default` prints it, so a new key
// needs an entry, and so a test, before CI passes.
var configKeyTests = map[string][]string{
	"seed": {"pipeline.TestDataKeysChangeThePrompts", "pipeline.TestSFTKeysChangeTheTrainedWeights"},

	// data
	"data.train":      {"pipeline.TestDataKeysChangeThePrompts"},
	"data.eval":       {"pipeline.TestDataKeysChangeThePrompts"},
	"data.train_size": {"pipeline.TestDataKeysChangeThePrompts"},
	"data.difficulty": {"pipeline.TestDataKeysChangeThePrompts"},
	// chat renders 182-token prompts: past the default 128-token context of
	// the in-process policy, so SFT fails unless policy.model.context grows.
	"data.template":      {"pipeline.TestSFTKeysChangeTheTrainedWeights", "pipeline.TestRolloutKeysChangeTheCompletions"},
	"data.fields.prompt": {"pipeline.TestDataKeysChangeThePrompts", "data.TestFieldMapSelectsFields"},
	"data.fields.answer": {"pipeline.TestDataKeysChangeThePrompts", "data.TestFieldMapSelectsFields"},
	"data.fields.id":     {"pipeline.TestDataKeysChangeThePrompts", "data.TestFieldMapSelectsFields"},

	// policy (policy.model.* shape a fresh policy only: with policy.init the
	// checkpoint's own shape is used and these keys are ignored. Doubtful:
	// vocab must equal the tokenizer's 264 and causal must be true for ar
	// (Generate refuses a bidirectional ar model) and is forced false for
	// diffusion; neither is checked before the run.)
	"policy.kind":                    {"pipeline.TestDiffusionRunsWithGDPOAndDiffuGRPO"},
	"policy.init":                    {"pipeline.TestPolicyInitStartsFromTheCheckpoint", "cmd/rlpipe/app.TestDiffusionInitCheckpointSetsCanvasUnlessGiven"},
	"policy.model.layers":            {"policy.TestModelConfigKeysChangeTheModel"},
	"policy.model.d_model":           {"policy.TestModelConfigKeysChangeTheModel"},
	"policy.model.heads":             {"policy.TestModelConfigKeysChangeTheModel"},
	"policy.model.d_ff":              {"policy.TestModelConfigKeysChangeTheModel"},
	"policy.model.context":           {"policy.TestModelConfigKeysChangeTheModel"},
	"policy.model.vocab":             {"policy.TestModelConfigKeysChangeTheModel"},
	"policy.model.activation":        {"policy.TestModelConfigKeysChangeTheModel"},
	"policy.model.positions":         {"policy.TestModelConfigKeysChangeTheModel"},
	"policy.model.causal":            {"policy.TestModelConfigKeysChangeTheModel"},
	"policy.model.init_seed":         {"policy.TestModelConfigKeysChangeTheModel"},
	"policy.diffusion.canvas":        {"pipeline.TestDiffusionKeysChangeTheCompletions"},
	"policy.diffusion.gen.steps":     {"pipeline.TestDiffusionKeysChangeTheCompletions"},
	"policy.diffusion.gen.block_len": {"pipeline.TestDiffusionKeysChangeTheCompletions"},
	"policy.diffusion.gen.remask":    {"pipeline.TestDiffusionKeysChangeTheCompletions"},

	// sft
	"sft.steps":             {"pipeline.TestSFTKeysChangeTheTrainedWeights"},
	"sft.batch_size":        {"pipeline.TestSFTKeysChangeTheTrainedWeights"},
	"sft.lr":                {"pipeline.TestSFTKeysChangeTheTrainedWeights"},
	"sft.warmup_steps":      {"pipeline.TestSFTKeysChangeTheTrainedWeights"},
	"sft.weight_decay":      {"pipeline.TestSFTKeysChangeTheTrainedWeights"},
	"sft.clip_norm":         {"pipeline.TestSFTKeysChangeTheTrainedWeights"},
	"sft.empty_trace_share": {"pipeline.TestSFTKeysChangeTheTrainedWeights"},
	"sft.examples":          {"pipeline.TestSFTKeysChangeTheTrainedWeights"},
	"sft.eval_every":        {"pipeline.TestSFTEvalEveryLogsIntermediateEvaluations"},
	"sft.checkpoint_every":  {"pipeline.TestSFTInterruptStopsWithinAStepAndResumesBitIdentical", "cmd/rlpipe/app.TestKilledSFTResumesBitIdentical"},
	"sft.diffusion_masking": {"pipeline.TestDiffusionSFTMaskings"},

	// rollout
	"rollout.kind":                    {"pipeline.TestKilledServerFailsTheRunCleanly"},
	"rollout.openai.base_url":         {"rollout.TestOpenAIEndToEnd", "pipeline.TestKilledServerFailsTheRunCleanly"},
	"rollout.openai.model":            {"rollout.TestOpenAIRetries"},
	"rollout.openai.api_key_env":      {"rollout.TestOpenAINeverLeaksTheAPIKey"},
	"rollout.openai.api":              {"rollout.TestOpenAIConfigKeysShapeTheRequests"},
	"rollout.openai.concurrency":      {"rollout.TestOpenAIConfigKeysShapeTheRequests"},
	"rollout.openai.timeout":          {"rollout.TestOpenAIDropsRequestsToAHangingServer"},
	"rollout.openai.max_retries":      {"rollout.TestOpenAIRetries"},
	"rollout.openai.backoff_base":     {"rollout.TestOpenAIBackoffFollowsBaseAndMax"},
	"rollout.openai.backoff_max":      {"rollout.TestOpenAIBackoffFollowsBaseAndMax"},
	"rollout.openai.template":         {"rollout.TestOpenAIConfigKeysShapeTheRequests"},
	"rollout.openai.system":           {"rollout.TestOpenAIConfigKeysShapeTheRequests"},
	"rollout.openai.stop":             {"rollout.TestOpenAIConfigKeysShapeTheRequests"},
	"rollout.openai.return_token_ids": {"rollout.TestOpenAIEndToEnd", "rollout.TestOpenAIConfigKeysShapeTheRequests"},
	"rollout.openai.no_logprobs":      {"rollout.TestOpenAIWithoutTokenIDsOrCodecKeepsTextOnly", "rollout.TestOpenAIConfigKeysShapeTheRequests"},
	"rollout.g":                       {"pipeline.TestExportTrainBatchesWritesParquetPerStep"},
	"rollout.temperature":             {"pipeline.TestRolloutKeysChangeTheCompletions", "pipeline.TestLearnerKeysChangeTheUpdate"},
	"rollout.top_p":                   {"pipeline.TestRolloutKeysChangeTheCompletions", "policy.TestSamplerTruncation"},
	"rollout.top_k":                   {"pipeline.TestRolloutKeysChangeTheCompletions", "policy.TestSamplerTruncation"},
	"rollout.max_new_tokens":          {"pipeline.TestRolloutKeysChangeTheCompletions"},
	"rollout.workers":                 {"pipeline.TestRolloutWorkersSplitTheGeneration"},
	"rollout.modes":                   {"pipeline.TestRunKeysChangeTheRunDirectory"},

	// reward
	"reward.spec":           {"reward.TestScorerComposesWeightedParts"},
	"reward.parts":          {"cmd/rlpipe/app.TestScoreConfigFile"},
	"reward.on_error":       {"reward.TestScoreGroupsPolicies", "pipeline.TestOnErrorDecidesWhatTheRunTrainsOn"},
	"reward.max_error_rate": {"reward.TestScoreGroupsPolicies"},
	"reward.timeout":        {"reward.TestScorerRecordsRowErrors"},
	"reward.workers":        {"reward.TestScorerWorkersBoundsParallelRows"},

	// sampling
	"sampling.kind":                     {"sampling.TestConfigKeysChangeThePicks"},
	"sampling.seed":                     {"sampling.TestConfigKeysChangeThePicks"},
	"sampling.vas.lambda":               {"sampling.TestVASLambdaZeroFollowsTheCursor", "sampling.TestConfigKeysChangeThePicks"},
	"sampling.vas.alpha":                {"sampling.TestGoldenVPSAndWeights", "sampling.TestConfigKeysChangeThePicks"},
	"sampling.vas.beta":                 {"sampling.TestGoldenVPSAndWeights", "sampling.TestConfigKeysChangeThePicks"},
	"sampling.vas.w_min":                {"sampling.TestVASWeights", "sampling.TestConfigKeysChangeThePicks"},
	"sampling.vas.ema":                  {"sampling.TestGoldenVPSAndWeights", "sampling.TestConfigKeysChangeThePicks"},
	"sampling.vas.tds":                  {"sampling.TestTDSChoices", "sampling.TestConfigKeysChangeThePicks"},
	"sampling.vas.refresh":              {"pipeline.TestVASRefreshRunsAtItsSteps", "sampling.TestRefreshSchedule"},
	"sampling.vas.refresh_every":        {"pipeline.TestVASRefreshRunsAtItsSteps", "sampling.TestRefreshSchedule"},
	"sampling.vas.refresh_samples":      {"pipeline.TestVASRefreshRunsAtItsSteps"},
	"sampling.vas.history_len":          {"sampling.TestVASObserve"},
	"sampling.filter.zero_variance":     {"pipeline.TestDynamicSamplingRefillsAtMostMaxRounds"},
	"sampling.filter.max_refill_rounds": {"pipeline.TestDynamicSamplingRefillsAtMostMaxRounds"},

	// algorithm
	"algorithm.name":                       {"pipeline.TestBVPORunLogsBothModes", "policy/objective.TestPresetsSetTheDocumentedCombinations"},
	"algorithm.advantage.std":              {"pipeline.TestAdvantageKeysChangeTheAdvantages", "policy/objective.TestGroupAdvantagesMatchesGoldenValues"},
	"algorithm.advantage.eps":              {"pipeline.TestAdvantageKeysChangeTheAdvantages", "policy/objective.TestGroupAdvantagesMatchesGoldenValues"},
	"algorithm.advantage.biased":           {"pipeline.TestAdvantageKeysChangeTheAdvantages", "policy/objective.TestGroupAdvantagesMatchesGoldenValues"},
	"algorithm.loss.clip_low":              {"pipeline.TestLossKeysChangeTheUpdate", "cmd/rlpipe/app.TestConfigZeroClipBoundsAreTakenLiterally"},
	"algorithm.loss.clip_high":             {"pipeline.TestLossKeysChangeTheUpdate", "cmd/rlpipe/app.TestConfigZeroClipBoundsAreTakenLiterally"},
	"algorithm.loss.dual_clip":             {"pipeline.TestLearnerKeysChangeTheUpdate", "policy/objective.TestPolicyLossPerTokenMatchesGoldenValues"},
	"algorithm.loss.agg":                   {"pipeline.TestLearnerKeysChangeTheUpdate", "policy/objective.TestAggregationMatchesGoldenValues"},
	"algorithm.loss.scale_factor":          {"pipeline.TestLossKeysChangeTheUpdate", "pipeline.TestLearnerLossNormaliserIsTheCompletionBudget"},
	"algorithm.loss.max_len":               {"pipeline.TestLossKeysChangeTheUpdate", "pipeline.TestLearnerLossNormaliserIsTheCompletionBudget"},
	"algorithm.loss.beta":                  {"pipeline.TestLossKeysChangeTheUpdate"},
	"algorithm.loss.kl":                    {"pipeline.TestLossKeysChangeTheUpdate", "policy/objective.TestKLEstimatorsMatchGoldenValues"},
	"algorithm.loss.entropy_coef":          {"pipeline.TestLossKeysChangeTheUpdate", "policy/learn.TestEntropyBonusMovesThePolicyEntropy"},
	"algorithm.kl_in_reward":               {"pipeline.TestLossKeysChangeTheUpdate", "policy/learn.TestKLInRewardFoldsThePenaltyIntoTheAdvantages"},
	"algorithm.epochs":                     {"pipeline.TestLearnerKeysChangeTheUpdate"},
	"algorithm.mini_batches":               {"pipeline.TestLearnerKeysChangeTheUpdate"},
	"algorithm.micro_batch_size":           {"policy/learn.TestMicroBatchSizeBoundsEveryPass", "pipeline.TestMicroBatchSizeIsRefusedWhereItWouldBeIgnored"},
	"algorithm.bvpo.alpha":                 {"pipeline.TestBVPOKeysChangeTheUpdate", "policy/learn.TestBVPOAutoAlphaFollowsTheGradientVariances"},
	"algorithm.bvpo.base":                  {"pipeline.TestBVPOKeysChangeTheUpdate"},
	"algorithm.bvpo.beta_dpo":              {"pipeline.TestBVPOKeysChangeTheUpdate"},
	"algorithm.bvpo.micro_batches":         {"pipeline.TestBVPOKeysChangeTheUpdate"},
	"algorithm.bvpo.smoothing":             {"pipeline.TestBVPOKeysChangeTheUpdate", "policy/learn.TestBVPOBiasMomentumDrivesTheBiasProxy"},
	"algorithm.bvpo.bias_momentum":         {"pipeline.TestBVPOKeysChangeTheUpdate", "policy/learn.TestBVPOBiasMomentumDrivesTheBiasProxy"},
	"algorithm.bvpo.normalize":             {"pipeline.TestBVPOKeysChangeTheUpdate", "policy/learn.TestBVPOGroupsNormalizationIsThePairMeanScaledByPairsOverGroups"},
	"algorithm.gdpo.ratio":                 {"pipeline.TestGDPOKeysChangeTheUpdate", "policy/objective.TestGDPOSequenceRatioMatchesGoldenValues"},
	"algorithm.gdpo.clip_low":              {"pipeline.TestGDPOKeysChangeTheUpdate"},
	"algorithm.gdpo.clip_high":             {"pipeline.TestGDPOKeysChangeTheUpdate", "cmd/rlpipe/app.TestConfigZeroClipBoundsAreTakenLiterally"},
	"algorithm.gdpo.dual_clip":             {"pipeline.TestGDPOKeysChangeTheUpdate"},
	"algorithm.gdpo.beta":                  {"pipeline.TestGDPOKeysChangeTheUpdate"},
	"algorithm.gdpo.kl":                    {"pipeline.TestGDPOKeysChangeTheUpdate"},
	"algorithm.gdpo.elbo.estimator":        {"pipeline.TestGDPOKeysChangeTheUpdate"},
	"algorithm.gdpo.elbo.rule":             {"pipeline.TestGDPOKeysChangeTheUpdate", "policy/objective.TestSDMCToyELBOMatchesGoldenValues"},
	"algorithm.gdpo.elbo.draws":            {"pipeline.TestGDPOKeysChangeTheUpdate", "policy/objective.TestSDMCPlanUsesDrawsAndWeights"},
	"algorithm.gdpo.elbo.mask_min":         {"pipeline.TestGDPOKeysChangeTheUpdate", "policy/objective.TestSDMCToyELBOMatchesGoldenValues"},
	"algorithm.gdpo.elbo.prompt_mask_prob": {"pipeline.TestGDPOKeysChangeTheUpdate"},
	"algorithm.gdpo.elbo.coupling":         {"pipeline.TestGDPOKeysChangeTheUpdate", "policy/objective.TestCyclicCouplingSpreadsMasksAndKeepsThemUniform"},
	"algorithm.gdpo.elbo.stratify":         {"pipeline.TestGDPOKeysChangeTheUpdate", "policy/objective.TestDoubleMCStratification"},

	// train
	"train.steps":            {"pipeline.TestRunSmallCompletesAndReleasesEveryRecord"},
	"train.prompts_per_step": {"pipeline.TestExportTrainBatchesWritesParquetPerStep"},
	"train.lr":               {"pipeline.TestLearnerKeysChangeTheUpdate"},
	"train.weight_decay":     {"pipeline.TestLearnerKeysChangeTheUpdate"},
	"train.clip_norm":        {"pipeline.TestLearnerKeysChangeTheUpdate"},
	"train.warmup_steps":     {"pipeline.TestLearnerKeysChangeTheUpdate"},
	"train.max_staleness":    {"pipeline.TestRunKeysChangeTheRunDirectory"},

	// checkpoint
	"checkpoint.every":     {"pipeline.TestRunKeysChangeTheRunDirectory"},
	"checkpoint.keep_last": {"pipeline.TestRunKeysChangeTheRunDirectory"},

	// eval
	"eval.every":       {"pipeline.TestRunKeysChangeTheRunDirectory"},
	"eval.n":           {"pipeline.TestDataKeysChangeThePrompts", "pipeline.TestSFTEvalEveryLogsIntermediateEvaluations"},
	"eval.samples":     {"cmd/rlpipe/app.TestRunReportsSampledAccuracy"},
	"eval.temperature": {"pipeline.TestEvalKeysChangeTheEvaluation"},
	"eval.verifier":    {"pipeline.TestEvalKeysChangeTheEvaluation"},

	// log, export, distributed
	"log.progress":                {"pipeline.TestLogProgressDrawsABarOnATerminal"},
	"log.dump_rollouts":           {"pipeline.TestRunKeysChangeTheRunDirectory"},
	"export.train_batches":        {"pipeline.TestExportTrainBatchesWritesParquetPerStep"},
	"distributed.rollout_workers": {"pipeline.TestDistributedWorkersCarryTheRun", "pipeline.TestDistributedRunEqualsInProcessRun"},
	"distributed.reward_workers":  {"pipeline.TestDistributedWorkersCarryTheRun", "pipeline.TestDistributedRunEqualsInProcessRun"},
	"distributed.request_timeout": {"pipeline/flight.TestNoWorkersFailsQuickly"},
}

// flattenKeys appends the dotted path of every leaf under n: scalars
// (null included), lists (one key each) and empty maps.
func flattenKeys(out []string, prefix string, n *yaml.Node) []string {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return append(out, prefix)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i].Value
		if prefix != "" {
			key = prefix + "." + key
		}
		out = flattenKeys(out, key, n.Content[i+1])
	}
	return out
}

// defaultConfigKeys returns the dotted path of every key `rlpipe config
// default` prints.
func defaultConfigKeys(t *testing.T) []string {
	t.Helper()
	out, stderr, code := cli(t, "config", "default")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(out), &doc); err != nil || len(doc.Content) != 1 {
		t.Fatalf("rlpipe config default printed no YAML document (%v):\n%s", err, out)
	}
	keys := flattenKeys(nil, "", doc.Content[0])
	return keys
}

// TestEveryConfigKeyHasABehaviourTest checks configKeyTests against the
// keys `rlpipe config default` prints (none missing, none stale) and
// against the repository's tests (every named test exists).
func TestEveryConfigKeyHasABehaviourTest(t *testing.T) {
	keys := defaultConfigKeys(t)
	for _, k := range keys {
		if _, ok := configKeyTests[k]; !ok {
			t.Errorf("%s: printed by rlpipe config default but has no behaviour test in configKeyTests; add a test that fails if the key stops working, or remove the key", k)
		}
	}
	table := slices.Sorted(maps.Keys(configKeyTests))
	for _, k := range table {
		if !slices.Contains(keys, k) {
			t.Errorf("%s: in configKeyTests but no longer printed by rlpipe config default; remove the entry", k)
		}
	}
	root := repoRoot(t)
	for _, k := range table {
		tests := configKeyTests[k]
		if len(tests) == 0 {
			t.Errorf("%s: no test named", k)
		}
		for _, ref := range tests {
			dot := strings.LastIndex(ref, ".")
			if dot < 0 || !strings.HasPrefix(ref[dot+1:], "Test") {
				t.Errorf("%s: %q is not package/dir.TestName", k, ref)
				continue
			}
			if !testExists(t, filepath.Join(root, filepath.FromSlash(ref[:dot])), ref[dot+1:]) {
				t.Errorf("%s: no func %s( in %s/*_test.go", k, ref[dot+1:], ref[:dot])
			}
		}
	}
}

// repoRoot is the directory holding go.mod above the test's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// testExists reports whether a _test.go file directly in dir declares
// func name(.
func testExists(t *testing.T, dir, name string) bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "\nfunc "+name+"(") {
			return true
		}
	}
	return false
}
