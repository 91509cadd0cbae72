# SPDX-License-Identifier: MIT
# mk/fuzz.mk -- libFuzzer targets (clang) and the corpus replay run by `make check`.
#   make fuzz [FUZZ_SECONDS=600] [FUZZ_TARGETS="load roundtrip api"]
#   make fuzz-corpus     regenerate the seed corpus (fuzz/make_corpus.c)
FUZZ_TARGETS ?= load roundtrip api
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_FLAGS = -std=c11 -D_DEFAULT_SOURCE -DLELP_FUZZING_SKIP_CRC -g -O1 -ffp-contract=off -Iinclude -Iliblelp $(LAPACK_CFLAGS)
FUZZ_SRCS = $(SRCS)
# extra flags of the replay build (check-sanitize passes ASan + UBSan)
FUZZ_REPLAY_FLAGS ?=

CHECK_HOOKS += check-fuzz-replay


.PHONY: fuzz fuzz-corpus check-fuzz-replay

# The replay is built from the sources with the fuzz builds' flags (CRC
# comparison skipped), so every committed reproducer reaches the code it hit.
$(BUILD)/fuzz/replay_%: fuzz/fuzz_%.c fuzz/replay.c fuzz/fuzz_common.h $(FUZZ_SRCS) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_DEFAULT_SOURCE -DLELP_FUZZING_SKIP_CRC -O1 -g -ffp-contract=off $(FUZZ_REPLAY_FLAGS) \
	  -Iinclude -Iliblelp $(LAPACK_CFLAGS) fuzz/replay.c $< $(FUZZ_SRCS) $(LAPACK_LIBS) -lm -o $@

# Replays the committed corpus (seeds and every reproducer found so far).
check-fuzz-replay: $(addprefix $(BUILD)/fuzz/replay_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  echo "fuzz replay: $$t"; $(BUILD)/fuzz/replay_$$t fuzz/corpus/$$t || exit 1; \
	done

$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_common.h $(FUZZ_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  $< $(FUZZ_SRCS) $(LAPACK_LIBS) -lm -o $@

# Each target runs FUZZ_SECONDS on a scratch copy of its corpus; new inputs
# stay in $(BUILD)/fuzz/work_<target>, crashes in $(BUILD)/fuzz/artifacts/.
fuzz: fuzz-deps $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/work_$$t $(BUILD)/fuzz/artifacts; \
	  cp -n fuzz/corpus/$$t/* $(BUILD)/fuzz/work_$$t/ 2>/dev/null || true; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	  OPENBLAS_NUM_THREADS=1 $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(BUILD)/fuzz/artifacts/$$t- $(BUILD)/fuzz/work_$$t || exit 1; \
	done

fuzz-corpus: $(LIB_A)
	@mkdir -p $(BUILD)/fuzz fuzz/corpus/load fuzz/corpus/roundtrip fuzz/corpus/api
	$(CC) -std=c11 -Iinclude fuzz/make_corpus.c $(LIB_A) $(LAPACK_LIBS) -lm -o $(BUILD)/fuzz/make_corpus
	$(BUILD)/fuzz/make_corpus fuzz/corpus

DEPS_EXTRA += clang libclang-rt-14-dev
fuzz-deps:
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: needs $(FUZZ_CC) (make deps installs clang)" >&2; exit 1; }
.PHONY: fuzz-deps
