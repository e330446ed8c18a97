# tokkit developer commands. `make help` lists them. `make demo` and `make test` work on a fresh
# machine with Rust and Python 3.11: they create .venv, install the pinned tools and build.

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt | sha256sum | cut -c1-12)
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(VENV))/bin:$(PATH)

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

.PHONY: env
env: $(STAMP) ## Create .venv with the pinned Python tools

.PHONY: dev
dev: $(STAMP) ## Build the Rust extension (release) into .venv
	$(VENV)/bin/maturin develop --release -q

.PHONY: demo
demo: dev ## Train a BPE tokenizer on the shipped corpus and show its compression
	$(VENV)/bin/tokkit train --vocab-size 8000 --special-tokens '<|endoftext|>' --force \
		--out demo-out/bpe-8k corpora/en-prose.txt corpora/en-tech.txt corpora/code.txt
	@$(PY) -c "import tokkit; t = tokkit.load('demo-out/bpe-8k'); \
	s = open('corpora/unicode-edge.txt', encoding='utf-8').read(); \
	print('held-out check: unicode-edge.txt round-trips:', t.decode(t.encode(s)) == s)"

.PHONY: test
test: dev test-rust test-py ## Install everything, then run cargo test and pytest

.PHONY: test-rust
test-rust: ## Rust unit, property and integration tests (with the fuzz targets over their seeds)
	cargo test -p tokkit-core -p tokkit-fuzz --release

.PHONY: test-py
test-py: ## Python tests (needs `make dev`)
	$(PY) -m pytest -q

VENV_TF4 ?= .venv-tf4
STAMP_TF4 := $(VENV_TF4)/.installed-$(shell cat requirements-tf4.txt | sha256sum | cut -c1-12)

$(STAMP_TF4): requirements-tf4.txt $(STAMP)
	test -x $(VENV_TF4)/bin/python || python3 -m venv $(VENV_TF4)
	$(PY) -c "import site; print(site.getsitepackages()[0])" \
		> $$($(VENV_TF4)/bin/python -c "import site; print(site.getsitepackages()[0])")/zz-tokkit-venv.pth
	$(VENV_TF4)/bin/python -m pip install -q --disable-pip-version-check -r requirements-tf4.txt
	touch $@

.PHONY: test-compat
test-compat: dev $(STAMP_TF4) ## Written model directories load the same in transformers 4.57 and 5
	TOKKIT_TF4_PYTHON=$(VENV_TF4)/bin/python $(PY) -m pytest -q -m compat tests/compat

.PHONY: test-slow
test-slow: dev ## Rust and Python tests including those marked slow (ignored)
	cargo test -p tokkit-core -p tokkit-fuzz --release -- --include-ignored
	$(PY) -m pytest -q -m 'not compat'

.PHONY: lint
lint: $(STAMP) ## cargo fmt, clippy -D warnings, ruff, mypy, stubtest
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/ruff check python tests bench corpora
	$(VENV)/bin/mypy
	$(PY) -m mypy.stubtest tokkit._tokkit

.PHONY: fmt
fmt: $(STAMP) ## Format Rust and Python
	cargo fmt --all
	$(VENV)/bin/ruff check --fix-only python tests bench corpora

# Coverage-guided fuzzing with AFL++ through cargo-afl, on stable Rust (`cargo install cargo-afl`
# once; it builds AFL++ itself). Each target in FUZZ_TARGETS runs FUZZ_SECONDS, one after the
# other on one core, niced; findings land in $(FUZZ_OUT)/<target>/default/{crashes,hangs}.
# One target for a minute:  make fuzz FUZZ_TARGETS=roundtrip FUZZ_SECONDS=60
# Replay an input:          target/fuzz/fuzz_roundtrip < FILE   (after one `make fuzz` build)
# A crash becomes a regression: minimise it (`cargo afl tmin -i FILE -o MIN -- target/fuzz/fuzz_T`),
# fix the cause, and add MIN to rust/tokkit-fuzz/regressions/<target>/ (cargo test runs those).
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= tokenizer_json roundtrip corpus_reader
FUZZ_OUT ?= target/fuzz-out
FUZZ_BIN = $${CARGO_TARGET_DIR:-target}/fuzz

.PHONY: fuzz
fuzz: ## AFL++ on each fuzz target for FUZZ_SECONDS (default 600); see the comment above it
	@command -v cargo-afl >/dev/null || { echo "make fuzz needs cargo-afl: cargo install cargo-afl"; exit 1; }
	cargo clippy -p tokkit-fuzz --features afl --all-targets -- -D warnings
	cargo afl build --profile fuzz -p tokkit-fuzz --features afl --bins
	mkdir -p $(FUZZ_OUT)
	for t in $(FUZZ_TARGETS); do \
		dict=rust/tokkit-fuzz/$$t.dict; \
		AFL_NO_UI=1 AFL_AUTORESUME=1 AFL_SKIP_CPUFREQ=1 AFL_TRY_AFFINITY=1 \
		nice -n 10 cargo afl fuzz -V $(FUZZ_SECONDS) -m 4096 -t 2000 \
			$$(test -f $$dict && echo -x $$dict) \
			-i rust/tokkit-fuzz/corpus/$$t -o $(FUZZ_OUT)/$$t -- $(FUZZ_BIN)/fuzz_$$t || exit 1; \
		grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|edges_found|total_edges|saved_crashes|saved_hangs) ' \
			$(FUZZ_OUT)/$$t/default/fuzzer_stats; \
	done

.PHONY: snapshots
snapshots: dev ## Rewrite the golden CLI texts in cli/snapshots
	$(PY) tests/cli_snapshots.py --update

.PHONY: corpora
corpora: ## Build the benchmark corpora (100 MB, 1 GB, held-out) into corpora/build
	python3 corpora/build_bench.py

.PHONY: hybrid-langs
hybrid-langs: ## Rebuild the hybrid tokenizer's languages (tr, en) and corpora/build/tr-train.txt
	python3 corpora/build_hybrid_langs.py

MERGEKIT_VENV := bench/.venv-mergekit

$(MERGEKIT_VENV)/bin/mergekit-tokensurgeon: bench/requirements-mergekit.txt | $(STAMP)
	python3 -m venv $(MERGEKIT_VENV)
	$(PY) -c "import site; print(site.getsitepackages()[0])" \
		> $(MERGEKIT_VENV)/lib/python3.11/site-packages/tokkit_shared_venv.pth
	# From another directory: pip trips over the project root's metadata when run from it.
	cd bench && .venv-mergekit/bin/pip install -q --disable-pip-version-check -r requirements-mergekit.txt

.PHONY: bench-distill
bench-distill: dev ## Heal a SmolLM2 transplant: ALM vs SFT-only at equal steps (CPU, ~30 min)
	$(PY) bench/distill_bench.py --steps 100 --eval-every 25 --extra "--batch-size 8" \
		--markdown docs/benchmarks.md

.PHONY: bench-distill-gpu
bench-distill-gpu: dev ## The distillation benchmark on one CUDA device (at most 10 minutes)
	bash bench/distill_gpu.sh

.PHONY: bench-hypernet
bench-hypernet: dev ## ZeTT hypernetwork on CPU (~20 min), zero-shot vs mean/TokenAdapt/OMP
	$(PY) bench/hypernet_bench.py --max-steps 160 --eval-every 20 --markdown docs/benchmarks.md

.PHONY: bench-hybrid
bench-hybrid: dev ## Turkish hybrid vs BPE/SuperBPE/pretrained/published: %TR, %Pure, speed, Gemma-3 transplant (~25 min)
	$(PY) bench/hybrid_bench.py --transplant --markdown docs/benchmarks.md
	$(PY) bench/hybrid_speed.py --hybrid bench/out/hybrid/hybrid-32k --bpe bench/out/hybrid/bpe-32k --reps 5 --markdown docs/benchmarks.md

.PHONY: bench-hypernet-gpu
bench-hypernet-gpu: dev ## The hypernetwork benchmark on one CUDA device (at most 10 minutes)
	bash bench/hypernet_gpu.sh

.PHONY: bench-transplant
bench-transplant: dev $(MERGEKIT_VENV)/bin/mergekit-tokensurgeon ## Transplant methods both ways vs mergekit-tokensurgeon
	$(PY) bench/transplant_bench.py --max-bytes 6000 --out bench/out/transplant.json --markdown docs/benchmarks.md
	$(PY) bench/omp_sample_bench.py --rows 2000 --markdown docs/benchmarks.md
	$(PY) bench/transplant_roles.py --markdown docs/benchmarks.md \
		--untied-from bench/out/transplant-work/smol-on-gemma-tokkit-omp-r16
	$(PY) bench/transplant_bench.py --directions smol-on-gemma gemma-on-smol \
		--methods omp tokenadapt mean random --omp-variants omp-r16,omp-r16-m50 --skip-mergekit \
		--max-bytes 6000 --section transplant-mix \
		--title "Transplantation with --mix-mean (both directions, one run)" \
		--out bench/out/transplant-mix.json --markdown docs/benchmarks.md
	$(PY) bench/transplant_mix.py --shrink 0.5 --markdown docs/benchmarks.md

.PHONY: bench-byteprobs
bench-byteprobs: dev ## Byte-level generation cost, ensemble bits per byte, byte-exact sweep of the corpora
	$(PY) bench/byteprobs_bench.py --max-bytes 800 --gen-bytes 120 --out bench/out/byteprobs.json --markdown docs/benchmarks.md
	$(PY) bench/byteprobs_sweep.py --windows 3 --window-bytes 128 --out bench/out/byteprobs-sweep.json --markdown docs/benchmarks.md

.PHONY: bench-encode
bench-encode: dev ## Encode speed and exactness: tokkit vs fastokens, tokie, tiktoken, bpe-openai, HF (~15 min)
	$(PY) bench/encode_bench.py --reps 3 --out bench/out/encode.json --markdown docs/benchmarks.md

.PHONY: bench
bench: dev ## Benchmark training against HF tokenizers and other trainers
	$(PY) -m pip install -q -r bench/requirements.txt
	$(PY) bench/train_bench.py --corpus corpora/build/en-100mb.txt --vocab 32000 64000 --reps 3 \
		--threads 2 --out bench/out/train-100mb.json --markdown docs/benchmarks.md
