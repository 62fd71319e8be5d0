# dsah: build, test, bench, pipeline.
#
#   make                build bin/dsah-* (CPU; CUDA parts when found, see below)
#   make test           unit and pipeline tests under prove (TAP)
#   make test-asan      the same under ASan + UBSan + LeakSanitizer
#   make fuzz           libFuzzer targets (FUZZ_SECONDS=N each, FUZZ_TARGETS=...)
#   make bench          the measured figures (long; never part of make test);
#                       BENCH="index prefix" runs only tests/bench/<name>.sh
#   make pipeline       run pipelines/$(DATASET).yaml (default fashion-mnist)
#   make docs           regenerate the key and flag references in the READMEs
#   make gpu-carry      prepare .carry/ for tests/gpu/device.sh on a lent GPU
#
# Options: CUDA=auto|0|1 (default auto), BUILD=dir, BIN=dir, DATASET=name.

SHELL := /bin/bash
# Values given on the command line or in the environment are text: make's
# $(value) takes them literally, so "$(shell ...)" in SET, GAMMA, DATASET,
# ... is never expanded (make help SET='$(shell touch F)' creates nothing).
LITERAL_VARS := DATASET PIPELINE WORK BUILD BIN JOBS GAMMA TAU BITS STAGE SET SSHLOGINFILE \
                VGG19_URL VGG19_WEIGHTS SMOKE_DATA DATASETS_DIR STAGE_BIN CUDA FUZZ_SECONDS BENCH BENCH_REPORT_SET
# (exported again: a variable redefined in a makefile loses the automatic
# export that command-line and environment values have.)
$(foreach v,$(LITERAL_VARS),$(if $(filter command line environment,$(origin $v)),$(eval override $v := $$(value $v))$(eval export $v)))
BUILD ?= build
BIN ?= bin
DATASET ?= fashion-mnist
CUDA ?= auto

CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif
OPT ?= -O3 -march=native
CFLAGS ?= $(OPT) -g -std=gnu11 -Wall -Wextra -Wno-unused-parameter -fopenmp -fno-math-errno
PKGS := yaml-0.1 libarchive libpng libmicrohttpd
# Recursively expanded on purpose: evaluated when a recipe runs, i.e. after
# the deps step has installed pkg-config and the -dev packages.
DEP_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -I/usr/include/x86_64-linux-gnu/openblas-pthread
DEP_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ljpeg -llapacke -lopenblas -lm -lpthread
ALL_CFLAGS = $(CFLAGS) -Icommon -Ikernels $(DEP_CFLAGS) -DDSAH_CUDA=$(USE_CUDA) -MMD -MP

# ---- CUDA detection -----------------------------------------------------------
ifeq ($(filter $(CUDA),auto 0 1),)
$(error CUDA=$(CUDA) is not valid: use CUDA=auto, CUDA=0 or CUDA=1)
endif
NVCC := $(shell command -v nvcc 2>/dev/null || { test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc; })
CUDNN_H := $(firstword $(wildcard /usr/include/cudnn.h /usr/local/cuda/include/cudnn.h $(CUDNN_HOME)/include/cudnn.h))
GPU_NAME := $(shell nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n1)
CU_SRCS := $(wildcard kernels/*.cu)
ifeq ($(CUDA),0)
USE_CUDA := 0
else ifeq ($(CUDA),1)
ifeq ($(NVCC),)
$(error CUDA=1 but nvcc was not found (PATH or /usr/local/cuda/bin))
endif
USE_CUDA := 1
else
USE_CUDA := $(if $(and $(NVCC),$(CU_SRCS)),1,0)
endif
# The CUDA parts (kernels/*.cu) are compiled by nvcc for Hopper (sm_90 machine
# code plus compute_90 PTX for later GPUs) and linked with the CUDA runtime
# and cuDNN (cuBLAS is dlopen'ed at the first GPU use: kernels/blas.h);
# C sources see -DDSAH_CUDA=1. --as-needed: a program that selects no GPU
# links no CUDA library at all. CUDA_HOME: the toolkit (its
# lib64 is also the binaries' run path); CUDNN_HOME: a cuDNN outside it (the
# Python package nvidia-cudnn-cu13 on the GPU machine, tests/gpu/device.sh).
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
comma := ,
CUDNN_HOME ?=
CUDA_ARCH ?= -gencode=arch=compute_90,code=[sm_90,compute_90]
NVCCFLAGS ?= -O3 -std=c++17 $(CUDA_ARCH) -Xcompiler -Wall,-Wextra,-Wno-unused-parameter,-fno-math-errno \
             --Werror all-warnings -Xptxas -warn-spills
ifeq ($(USE_CUDA),1)
CUDNN_FLAGS := $(if $(CUDNN_HOME),-I$(CUDNN_HOME)/include)
CUDNN_LIBDIR := $(if $(CUDNN_HOME),-L$(CUDNN_HOME)/lib -Wl$(comma)-rpath$(comma)$(CUDNN_HOME)/lib)
CUDA_LIBS := -Wl,--as-needed $(CUDNN_LIBDIR) -L$(CUDA_HOME)/lib64 \
             -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudnn -lcudart -lstdc++ -ldl
endif
ifeq ($(MAKELEVEL),0)
ifneq ($(filter-out help clean,$(or $(MAKECMDGOALS),all)),)
$(info dsah: nvcc: $(or $(NVCC),not found); cuDNN: $(or $(CUDNN_H),not found); GPU: $(or $(GPU_NAME),none); CUDA sources: $(words $(CU_SRCS)); building with CUDA=$(USE_CUDA))
endif
endif

# ---- sources ------------------------------------------------------------------
COMMON_SRCS := $(wildcard common/*/*.c)
COMMON_OBJS := $(COMMON_SRCS:%.c=$(BUILD)/%.o)
ifeq ($(USE_CUDA),1)
COMMON_OBJS += $(CU_SRCS:%.cu=$(BUILD)/%.o)
DEP_LIBS += $(CUDA_LIBS)
endif
STAGE_SRCS := $(wildcard stages/*.c)
STAGES := $(STAGE_SRCS:stages/%.c=$(BIN)/dsah-%)
TEST_SRCS := $(wildcard tests/t_*.c)
TESTS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
TEST_SCRIPTS := $(wildcard tests/t_*.t)
LIB := $(BUILD)/libdsah.a
DEPS_STAMP := $(BUILD)/.deps-build

.PHONY: all test bench pipeline clean help deps
.SECONDARY:
all: $(STAGES)

help:
	@sed -n '1,12p' Makefile

$(DEPS_STAMP): common/deps.sh
	@mkdir -p $(@D)
	@common/deps.sh build
	@touch $@

# $(BUILD)/.cuda-config holds USE_CUDA and the nvcc flags; it changes (and
# every object is rebuilt) only when they do, so CUDA=0 and CUDA=1 builds in
# one BUILD folder never mix objects.
CUDA_CONFIG := $(BUILD)/.cuda-config
CUDA_CONFIG_TEXT := USE_CUDA=$(USE_CUDA) NVCC=$(NVCC) CUDNN_HOME=$(CUDNN_HOME) $(NVCCFLAGS)
$(shell mkdir -p $(BUILD) && { test "$$(cat $(CUDA_CONFIG) 2>/dev/null)" = '$(CUDA_CONFIG_TEXT)' || echo '$(CUDA_CONFIG_TEXT)' > $(CUDA_CONFIG); })

$(BUILD)/%.o: %.c $(CUDA_CONFIG) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# CUDA: host and device code of kernels/*.cu (the headers through -MMD).
$(BUILD)/%.o: %.cu $(CUDA_CONFIG) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) -Icommon -Ikernels $(CUDNN_FLAGS) -DDSAH_CUDA=1 -MMD -MP -c $< -o $@

# The double copy of the layers and losses (common/nn/nn_double.h): the same
# sources compiled again with `real` = double and every function renamed to
# its _d twin, for the gradient checks and the op tests' references. The nm
# step fails the build when the copy defines a global name without the _d
# suffix (a function added to the headers but not renamed in nn_double.h).
# (Named *_d.o, so the archive members say which copy they are.)
NN_DOUBLE_SRCS := common/nn/layers.c common/nn/loss.c common/nn/sgh_layer.c
NN_DOUBLE_OBJS := $(NN_DOUBLE_SRCS:%.c=$(BUILD)/double/%_d.o)
$(BUILD)/double/%_d.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DDSAH_REAL_DOUBLE -include nn/nn_double.h -c $< -o $@
	@nm -g --defined-only $@ | awk -v o=$@ '$$3 !~ /_d$$/ { print o ": defines " $$3 " without the _d suffix (rename it in common/nn/nn_double.h)"; bad = 1 } END { exit bad }' || { rm -f $@; exit 1; }

$(LIB): $(COMMON_OBJS) $(NN_DOUBLE_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/dsah-%: $(BUILD)/stages/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< $(LIB) $(DEP_LIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIB)
	$(CC) $(CFLAGS) $< $(LIB) $(DEP_LIBS) -o $@

# ---- tests --------------------------------------------------------------------
# C tests (tests/t_*.c) and shell tests (tests/t_*.t) print TAP; prove runs
# them all and fails on any failure. Shell tests find the binaries in $DSAH_BIN.
test: $(STAGES) $(TESTS)
	@common/deps.sh test
	DSAH_BIN=$(abspath $(BIN)) DSAH_BUILD=$(abspath $(BUILD)) prove -j2 --timer $(TESTS) $(TEST_SCRIPTS)

# t_ops (tests/ops_backend.h) links one object per op backend: the CPU's here;
# a build with CUDA adds its host wrappers with a line of its own,
#   $(BUILD)/tests/t_ops: $(BUILD)/tests/ops_cuda.o
# and their libraries to OPS_BACKEND_LIBS (make merges the prerequisites).
$(BUILD)/tests/t_ops: $(BUILD)/tests/t_ops.o $(LIB)
	$(CC) $(CFLAGS) $(filter %.o,$^) $(LIB) $(DEP_LIBS) $(OPS_BACKEND_LIBS) -o $@
$(BUILD)/tests/t_ops: $(BUILD)/tests/ops_cpu.o
-include $(BUILD)/tests/ops_cpu.d
ifeq ($(USE_CUDA),1)
$(BUILD)/tests/t_ops: $(BUILD)/tests/ops_cuda.o
-include $(BUILD)/tests/ops_cuda.d
endif

# ---- sanitizers ---------------------------------------------------------------
# make test-asan: the whole suite (C tests and shell tests through the stage
# binaries) built with AddressSanitizer + UndefinedBehaviorSanitizer in
# build-asan/ and bin-asan/, leak detection on. Any report fails the test
# that triggered it: the sanitizers exit with 86 (ASan, LeakSanitizer) or 87
# (UBSan, which does not recover), never with a stage's own 1 or 2.
ASAN_BUILD ?= build-asan
ASAN_BIN ?= bin-asan
ASAN_CFLAGS := -O1 -g -std=gnu11 -Wall -Wextra -Wno-unused-parameter -fopenmp -fno-math-errno \
               -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
.PHONY: test-asan
test-asan:
	+@ASAN_OPTIONS=detect_leaks=1:exitcode=86:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87 \
	 LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):print_suppressions=0 DSAH_ASAN=1 \
	 $(MAKE) --no-print-directory test BUILD=$(ASAN_BUILD) BIN=$(ASAN_BIN) CFLAGS='$(ASAN_CFLAGS)' CUDA=0

# ---- fuzzing ------------------------------------------------------------------
# tests/fuzz/fuzz_*.c: one libFuzzer target per parser of untrusted input.
# make test builds them with $(CC) and tests/fuzz/driver.c as main, and
# tests/t_fuzz_regress.t runs the seed corpus (tests/fuzz/make_seeds.py) and
# the saved crash inputs (tests/fuzz/regress/<target>/) through them.
# make fuzz [FUZZ_SECONDS=N] [FUZZ_TARGETS="npy image"]: builds them with
# clang -fsanitize=fuzzer,address,undefined in $(FUZZ_BUILD)/ and runs each
# for N seconds (default 60) on its seeds with its dictionary
# (tests/fuzz/<target>.dict); the corpus grows in $(FUZZ_BUILD)/corpus/,
# crashes land in $(FUZZ_BUILD)/crashes/<target>/, and the figures (runs,
# crashes, leaks, edge coverage) go to $(FUZZ_BUILD)/fuzz.tsv.
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_ALL := $(FUZZ_SRCS:tests/fuzz/%.c=%)
FUZZ_TARGETS ?= $(FUZZ_ALL:fuzz_%=%)
FUZZ_DRIVERS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -O1 -g -std=gnu11 -fopenmp -fno-math-errno -fsanitize=fuzzer-no-link,address,undefined \
               -fno-sanitize-recover=all -fno-omit-frame-pointer -Wno-pass-failed
$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/driver.c tests/fuzz/fuzz.h tests/fuzz/fuzz_ingest.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Icommon $(DEP_CFLAGS) $< tests/fuzz/driver.c $(LIB) $(DEP_LIBS) -o $@
test: $(FUZZ_DRIVERS)
.PHONY: fuzz
fuzz:
	@common/deps.sh fuzz
	+@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang CFLAGS='$(FUZZ_CFLAGS)' $(FUZZ_BUILD)/libdsah.a CUDA=0
	@set -e; mkdir -p $(FUZZ_BUILD)/bin; for t in $(FUZZ_TARGETS); do \
	  echo "clang ... -fsanitize=fuzzer tests/fuzz/fuzz_$$t.c -o $(FUZZ_BUILD)/bin/fuzz_$$t"; \
	  clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -Icommon $(DEP_CFLAGS) tests/fuzz/fuzz_$$t.c $(FUZZ_BUILD)/libdsah.a \
	    $(DEP_LIBS) -o $(FUZZ_BUILD)/bin/fuzz_$$t; done
	@rm -rf $(FUZZ_BUILD)/seeds && /usr/bin/python3 tests/fuzz/make_seeds.py $(FUZZ_BUILD)/seeds
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_TARGETS)

# ---- benchmarks ---------------------------------------------------------------
# tests/bench/*.sh each print their figures; results are collected in
# $(BUILD)/bench.log (bench-<names>.log when BENCH names some of them).
BENCH ?=
BENCH_SCRIPTS := $(sort $(if $(BENCH),$(foreach b,$(BENCH),$(or $(wildcard tests/bench/$(b).sh),$(error BENCH: no tests/bench/$(b).sh))),$(wildcard tests/bench/*.sh)))
BENCH_LOG := $(BUILD)/bench$(if $(BENCH),-$(subst $(eval) ,-,$(strip $(BENCH)))).log
BENCH_BINS := $(BUILD)/tests/bench_index $(BUILD)/tests/bench_head
$(BUILD)/tests/bench_%: $(BUILD)/tests/bench/bench_%.o $(LIB)
	$(CC) $(CFLAGS) $< $(LIB) $(DEP_LIBS) -o $@
# make test builds the bench programs too (not run): a change to common/ that
# breaks them shows there, not first in a long make bench
test: $(BENCH_BINS)
bench: $(STAGES) $(TESTS) $(BENCH_BINS)
	@common/deps.sh bench
	@set -o pipefail; for s in $(BENCH_SCRIPTS); do echo "== $$s"; DSAH_BIN=$(abspath $(BIN)) DSAH_BUILD=$(abspath $(BUILD)) bash $$s || exit 1; done 2>&1 | tee $(BENCH_LOG)

# ---- the lent GPU machine ------------------------------------------------------
# make gpu-carry: fill .carry/ (git-ignored) with what tests/gpu/device.sh
# needs there: the Debian libraries as .deb files, portable stage binaries
# with the CUDA parts, the GPU test and bench. Then, with the device tool:
#   run command="bash tests/gpu/device.sh" carry=[".carry"] timeout_s=540
# (docs/GPU.md).
.PHONY: gpu-carry
gpu-carry:
	@tests/gpu/prepare.sh

clean:
	rm -rf $(BUILD) $(BIN) $(ASAN_BUILD) $(ASAN_BIN) $(FUZZ_BUILD) build-carry .carry

# The key reference of pipelines/README.md and the flag reference of
# stages/README.md, generated from the stage tables (common/cli/); make test
# checks they are current.
.PHONY: docs
docs: $(BIN)/dsah-plan
	@docs/gen-reference.sh $(BIN)

# ---- datasets -------------------------------------------------------------------
# make fetch DATASET=cifar10: the official cifar-10-binary.tar.gz (checked by
# MD5) into $(DATASETS_DIR)/cifar10/, read in place by dsah-ingest --source
# cifar10 --path $(DATASETS_DIR)/cifar10. DATASET=fashion-mnist installs the
# Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
DATASETS_DIR ?= work/datasets
CIFAR10_URL := https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
CIFAR10_MD5 := c32a1d4ab5d03f1284b67883e8d87530
.PHONY: fetch
fetch:
	@set -u; case "$(DATASET)" in \
	  cifar10) d=$(DATASETS_DIR)/cifar10; f=$$d/cifar-10-binary.tar.gz; mkdir -p $$d; \
	    if [ -f $$f ] && echo "$(CIFAR10_MD5)  $$f" | md5sum -c --status; then echo "fetch: $$f is present"; exit 0; fi; \
	    echo "fetch: downloading $(CIFAR10_URL) to $$f"; \
	    curl -fL --retry 3 -o $$f.part $(CIFAR10_URL) || { rm -f $$f.part; \
	      echo "fetch: error: download of $(CIFAR10_URL) failed (no internet here?); copy cifar-10-binary.tar.gz into $$d by hand" >&2; exit 1; }; \
	    echo "$(CIFAR10_MD5)  $$f.part" | md5sum -c --status || { rm -f $$f.part; \
	      echo "fetch: error: $(CIFAR10_URL): MD5 is not $(CIFAR10_MD5) (corrupt download)" >&2; exit 1; }; \
	    mv $$f.part $$f; echo "fetch: $$f" ;; \
	  fashion-mnist) common/deps.sh pipeline ;; \
	  flickr25k|nuswide) cat pipelines/$(DATASET).fetch ;; \
	  *) echo "fetch: error: no fetch rule for DATASET=$(DATASET) (cifar10, fashion-mnist)" >&2; exit 1 ;; \
	esac

-include $(COMMON_OBJS:.o=.d) $(NN_DOUBLE_OBJS:.o=.d) $(STAGE_SRCS:%.c=$(BUILD)/%.d) $(TEST_SRCS:%.c=$(BUILD)/%.d) $(BENCH_BINS:$(BUILD)/tests/bench_%=$(BUILD)/tests/bench/bench_%.d)

# ==== pipelines: plan, stage, sweep, table, fetch =============================
# (section owned by the pipeline work; see pipelines/README.md)
#   make pipeline [DATASET=name | PIPELINE=path.yaml] [SET="key=value ..."]
#   make stage STAGE=graph|train|...|<stage id>|<artifact path>
#   make sweep [GAMMA="..."] [TAU="..."] [BITS="..."] [JOBS=N] [SSHLOGINFILE=file]
#   make table, make fetch-vgg19, make smoke-data, make serve [SERVE_BITS=64] [LISTEN=addr:port]
WORK ?= work
PIPELINE ?= pipelines/$(DATASET).yaml
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
SSHLOGINFILE ?=
GAMMA ?=
TAU ?=
BITS ?=
STAGE ?=
SET ?=
VGG19_URL ?= https://huggingface.co/timm/vgg19.tv_in1k/resolve/main/model.safetensors
VGG19_WEIGHTS ?= weights/vgg19.tv_in1k.safetensors
SMOKE_DATA ?= $(WORK)/smoke-data
# where the plan's rules find the stage binaries (tests point it elsewhere)
STAGE_BIN ?= $(BIN)
# Values reach the shell through the environment, never pasted into a
# command line, so no value given here can run anything.
export DSAH_PIPELINE := $(PIPELINE)
export DSAH_WORK := $(WORK)
export DSAH_BINDIR := $(BIN)
export DSAH_STAGE_BIN := $(STAGE_BIN)
export DSAH_GAMMA := $(GAMMA)
export DSAH_TAU := $(TAU)
export DSAH_BITS := $(BITS)
export DSAH_SET := $(SET)
export DSAH_STAGE := $(STAGE)
export DSAH_JOBS := $(JOBS)
export DSAH_SSHLOGINFILE := $(SSHLOGINFILE)
export DSAH_VGG19_URL := $(VGG19_URL)
export DSAH_VGG19_WEIGHTS := $(VGG19_WEIGHTS)
# 'make -n' runs the planner (a line naming $(MAKE)) and shows the stages;
# the summary and plots are skipped then.
DRY := $(findstring n,$(firstword -$(MAKEFLAGS)))
PLAN_CMD := pipelines/plan.sh
.PHONY: stage sweep table fetch-vgg19 smoke-data serve report
# make serve [DATASET=...] [SERVE_BITS=64] [LISTEN=127.0.0.1:8080]: the search
# page on the pipeline's indexes (pipelines/serve.sh; run make pipeline first)
SERVE_BITS ?=
LISTEN ?= 127.0.0.1:8080
export DSAH_SERVE_BITS := $(SERVE_BITS)
export DSAH_LISTEN := $(LISTEN)
ifeq ($(DATASET),smoke)
pipeline stage sweep table report: smoke-data
endif
pipeline: $(STAGES)
	@common/deps.sh pipeline
	+@d=$$($(PLAN_CMD)) && $(MAKE) --no-print-directory -f "$$d/plan.mk" all $(if $(DRY),,&& pipelines/summary.sh "$$d")
stage: $(STAGES)
	@test -n "$$DSAH_STAGE" || { echo 'make stage: give STAGE=<stage name, stage id or artifact path>' >&2; exit 2; }
	+@d=$$($(PLAN_CMD)) && $(MAKE) --no-print-directory -f "$$d/plan.mk" "stage-$$DSAH_STAGE"
sweep: $(STAGES)
	@common/deps.sh pipeline
	+@d=$$($(PLAN_CMD)) && $(if $(DRY),$(MAKE) --no-print-directory -f "$$d/plan.mk" sweep,MAKE='$(MAKE)' pipelines/sweep.sh "$$d")
serve: $(STAGES)
	+@d=$$($(PLAN_CMD)) && pipelines/serve.sh "$$d"
table: $(STAGES)
	@common/deps.sh pipeline
	+@d=$$($(PLAN_CMD)) && $(MAKE) --no-print-directory -f "$$d/plan.mk" table $(if $(DRY),,&& pipelines/table.sh "$$d")
# make report [DATASET=...] [JOBS=N] [SSHLOGINFILE=f]: the paper's Tables 1, 3, 4
# and Figures 3-11 as work/<name>/report/index.html + report.md (the YAML's
# report: section sizes the studies; pipelines/report-run.sh, report.sh).
# make report-fig7 (table1, table3, table4, fig3 ... fig11): one entry alone.
REPORT_ENTRIES := table1 table3 table4 fig3 fig4 fig5 fig6 fig7 fig8 fig9 fig10 fig11
.PHONY: $(addprefix report-,$(REPORT_ENTRIES))
report: $(STAGES)
	@common/deps.sh pipeline
	+@d=$$($(PLAN_CMD)) && $(if $(DRY),$(MAKE) --no-print-directory -f "$$d/plan.mk" report,MAKE='$(MAKE)' pipelines/report-run.sh "$$d")
$(addprefix report-,$(REPORT_ENTRIES)): report-%: $(STAGES) $(if $(filter smoke,$(DATASET)),smoke-data)
	@common/deps.sh pipeline
	+@d=$$($(PLAN_CMD)) && $(MAKE) --no-print-directory -j$(JOBS) -f "$$d/plan.mk" report-$* $(if $(DRY),,&& pipelines/report.sh "$$d" $*)
# make bench-report: the whole Fashion-MNIST report, timed (long: the YAML's
# report: section is sized for under 2 hours on 2 cores); log in
# $(BUILD)/bench-report.log. BENCH_REPORT_SET (default: none, the YAML as it
# is: all nine baselines, 55 minutes on 2 cores on 2026-11-30;
# BENCH_REPORT_SET='eval.baselines=[lsh,itq]' leaves out the others) is its
# SET; JOBS runs as for make report (JOBS=2 on 2 cores: two run directories
# at a time, one thread each).
BENCH_REPORT_SET ?=
export DSAH_BENCH_REPORT_SET := $(BENCH_REPORT_SET)
.PHONY: bench-report
bench-report: $(STAGES)
	@mkdir -p $(BUILD)
	+@set -o pipefail; t0=$$(date +%s); { $(MAKE) --no-print-directory report DATASET=fashion-mnist SET="$$DSAH_BENCH_REPORT_SET" && \
	  echo "bench-report: make report DATASET=fashion-mnist SET='$$DSAH_BENCH_REPORT_SET' JOBS=$(JOBS) took $$(( $$(date +%s) - t0 )) s on $$(nproc --all) cores, load $$(cut -d' ' -f1-3 /proc/loadavg)"; } 2>&1 | tee $(BUILD)/bench-report.log
# (make fetch DATASET=x is the datasets section's, above; pipelines/fetch.sh
# prints where to get the datasets without a public address.)
fetch-vgg19:
	@pipelines/fetch.sh vgg19
smoke-data: $(BUILD)/tests/gen_smoke
	@test -e $(SMOKE_DATA)/train-images-idx3-ubyte.gz || $(BUILD)/tests/gen_smoke $(SMOKE_DATA)
$(BUILD)/tests/gen_smoke: $(BUILD)/tests/gen_smoke.o $(LIB)
	$(CC) $(CFLAGS) $< $(LIB) $(DEP_LIBS) -lz -o $@
test: $(BUILD)/tests/gen_smoke
# ==== end of the pipelines section ============================================
