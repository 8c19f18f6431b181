# shellcheck shell=bash
# ./dojo fuzz: libFuzzer targets of the parsers that read what others send
# (tests/fuzz, docs/fuzzing.md), built with Debian's clang under ASan + UBSan.
#
# Compiled by this script, not Bazel: the tree's Bazel toolchain is gcc, and
# a second (clang) toolchain would re-configure every build that switches
# between them (Bazel only generates the generated sources). Each target is
# its harness, the tree's sources it fuzzes and the archives every one links
# (libcommon, the generated code), compiled into .dojo/fuzz/ and recompiled
# only when a source or one of its headers changed.

FUZZ_DIR="$DOJO_ROOT/tests/fuzz"
FUZZ_OUT="$DOJO_STATE/fuzz"
FUZZ_CC=${DOJO_FUZZ_CC:-clang-14}

# Runs a fuzz target: its reports with file:line (llvm-14 has the
# symbolizer; the unversioned name may be missing).
fuzz_exec() {  # BIN ARGS...
  local sym=${ASAN_SYMBOLIZER_PATH:-}
  [[ -z $sym && -x /usr/lib/llvm-14/bin/llvm-symbolizer ]] && sym=/usr/lib/llvm-14/bin/llvm-symbolizer
  ASAN_SYMBOLIZER_PATH=$sym "$@"
}

# Target -> the tree's sources it needs besides libcommon and the generated code
# ("gateway": an archive of the gateway's sources but main.c, from which the
# linker takes what the fuzzed files call).
# Its harness is tests/fuzz/fuzz_<target>.c, its seeds tests/fuzz/corpus/<target>/,
# its dictionary tests/fuzz/<target>.dict (if any).
declare -A FUZZ_SRCS=(
  [taskjson]="services/content/check.c services/content/languages.c services/content/taskjson.c services/content/taskmsg.c"
  [gateway_json]="services/gateway/json.c services/gateway/request.c gateway"
  [records]="services/executor/pool.c services/executor/entry.c"
  [ws]="gateway"
  [checker]="services/executor/checker.c"
)
FUZZ_TARGETS=(taskjson gateway_json records ws checker)
# Longest input each target is given (libFuzzer's -max_len).
declare -A FUZZ_MAX_LEN=(
  [taskjson]=16384 [gateway_json]=8192 [records]=8192 [ws]=8192 [checker]=4096
)
FUZZ_LIBS=(-lgrpc -lgpr -lprotobuf-c -lpq -lhiredis -lsodium -ljansson -lcurl -lcrypto
           -lmicrohttpd -lpthread -lm)

fuzz_cflags() {
  printf '%s\n' -std=gnu11 -g -O1 -fno-omit-frame-pointer \
    -fsanitize=address,undefined -fno-sanitize-recover=all \
    -Wall -Wextra -Wno-unused-parameter \
    -isystem /usr/include/postgresql -I"$DOJO_ROOT" -I"$FUZZ_OUT/gen"
}

# True when OBJ must be (re)built: missing, or older than a file its
# dependency list (clang -MMD) names.
fuzz_stale() {  # OBJ
  local o=$1 d=${1%.o}.d f
  [[ -f $o && -f $d ]] || return 0
  while read -r f; do
    [[ -n $f && $f -nt $o ]] && return 0
  done < <(sed -e 's/^[^:]*://' -e 's/\\$//' "$d" | tr ' ' '\n')
  return 1
}

# Compiles SRC into OBJ (when stale) with the fuzzing flags plus EXTRA.
fuzz_cc() {  # SRC OBJ EXTRA...
  local src=$1 obj=$2; shift 2
  fuzz_stale "$obj" || return 0
  mkdir -p "$(dirname "$obj")"
  local flags; mapfile -t flags < <(fuzz_cflags)
  "$FUZZ_CC" "${flags[@]}" "$@" -MMD -MF "${obj%.o}.d" -c "$src" -o "$obj"
}

# Runs "fuzz_cc SRC OBJ EXTRA..." for each SRC=OBJ pair, DOJO_FUZZ_JOBS at a time,
# and names each source that did not compile. It waits for its children by
# pid, oldest first: `wait -n` answers 127, not the status, for a job that
# ended before it was called (bash 5.2) — an up-to-date object's job ends at
# once, so on a busy machine the stage failed with no compiler message.
fuzz_cc_many() {  # EXTRA -- SRC=OBJ...
  local extra=() jobs=${DOJO_FUZZ_JOBS:-2} rc=0 p pids=() srcs=()
  while [[ $1 != -- ]]; do extra+=("$1"); shift; done
  shift
  for p in "$@"; do
    if (( ${#pids[@]} >= jobs )); then
      wait "${pids[0]}" || { rc=1; warn "fuzz: ${srcs[0]#"$DOJO_ROOT"/} did not compile"; }
      pids=("${pids[@]:1}"); srcs=("${srcs[@]:1}")
    fi
    fuzz_cc "${p%%=*}" "${p#*=}" "${extra[@]}" &
    pids+=($!); srcs+=("${p%%=*}")
  done
  while (( ${#pids[@]} )); do
    wait "${pids[0]}" || { rc=1; warn "fuzz: ${srcs[0]#"$DOJO_ROOT"/} did not compile"; }
    pids=("${pids[@]:1}"); srcs=("${srcs[@]:1}")
  done
  return $rc
}

# The tree's generated C (the protobuf-c code, the embedded language
# catalogue), made by Bazel as for every build, copied to .dojo/fuzz/gen.
FUZZ_GEN_TARGETS=(//protos:protos_c_gen //services/content:language_catalogue_embed)
fuzz_generated() {
  local bin f
  bazel build "${FUZZ_GEN_TARGETS[@]}" </dev/null >/dev/null 2>&1 ||
    { bazel build "${FUZZ_GEN_TARGETS[@]}" </dev/null; return 1; }
  bin=$(bazel info bazel-bin 2>/dev/null </dev/null) || return 1
  # Only what Bazel generates now (a proto removed leaves nothing behind).
  mkdir -p "$FUZZ_OUT/gen"
  local f2
  while IFS= read -r f2; do
    [[ -f $bin/protos/$f2 || -f $bin/$f2 ]] || rm -f "$FUZZ_OUT/gen/$f2"
  done < <(cd "$FUZZ_OUT/gen" && find . -type f | sed 's|^\./||')
  while IFS= read -r f; do
    mkdir -p "$FUZZ_OUT/gen/$(dirname "$f")"
    cmp -s "$bin/protos/$f" "$FUZZ_OUT/gen/$f" || cp "$bin/protos/$f" "$FUZZ_OUT/gen/$f"
  done < <(cd "$bin/protos" && find . -name '*.pb-c.[ch]' | sed 's|^\./||')
  mkdir -p "$FUZZ_OUT/gen/services/content"
  for f in language_catalogue.c language_catalogue.h; do
    cmp -s "$bin/services/content/$f" "$FUZZ_OUT/gen/services/content/$f" ||
      cp "$bin/services/content/$f" "$FUZZ_OUT/gen/services/content/$f"
  done
}

# Builds an archive LIB of the sources SRCS (objects under OUT/obj).
fuzz_archive() {  # LIB SRC...
  local lib=$1 s pairs=() objs=() o; shift
  for s in "$@"; do
    # The generated code lives outside the tree: its objects under obj/gen/.
    if [[ $s == "$FUZZ_OUT/gen/"* ]]; then o=$FUZZ_OUT/obj/gen/${s#"$FUZZ_OUT/gen/"}
    else o=$FUZZ_OUT/obj/${s#"$DOJO_ROOT"/}; fi
    o=${o%.c}.o
    pairs+=("$s=$o"); objs+=("$o")
  done
  fuzz_cc_many -fsanitize=fuzzer-no-link -- "${pairs[@]}" || return 1
  fuzz_newer "$lib" "${objs[@]}" || [[ $(cat "$lib.list" 2>/dev/null) != "${objs[*]}" ]] || return 0
  rm -f "$lib" && ar rcs "$lib" "${objs[@]}" && printf '%s' "${objs[*]}" >"$lib.list"
}

# True when OUT is missing or older than one of FILES.
fuzz_newer() {  # OUT FILE...
  local out=$1 f; shift
  [[ -f $out ]] || return 0
  for f in "$@"; do [[ $f -nt $out ]] && return 0; done
  return 1
}

# Builds the fuzz targets NAME... (all when none) into .dojo/fuzz/bin/.
fuzz_build() {
  local targets=("$@") t s
  (( ${#targets[@]} )) || targets=("${FUZZ_TARGETS[@]}")
  command -v "$FUZZ_CC" >/dev/null || die "fuzz: $FUZZ_CC not found (./dojo deps installs it)"
  for t in "${targets[@]}"; do
    [[ -n ${FUZZ_SRCS[$t]+x} ]] || die "fuzz: unknown target '$t' (targets: ${FUZZ_TARGETS[*]})"
  done
  mkdir -p "$FUZZ_OUT/bin"
  # Flags changed (another clang, say): start afresh.
  local flags; flags=$(fuzz_cflags; printf '%s\n' "$FUZZ_CC")
  if [[ ! -f $FUZZ_OUT/flags || $(cat "$FUZZ_OUT/flags") != "$flags" ]]; then
    rm -rf "${FUZZ_OUT:?}/obj" "${FUZZ_OUT:?}/lib"
    printf '%s\n' "$flags" >"$FUZZ_OUT/flags"
  fi
  fuzz_generated || die "fuzz: bazel build ${FUZZ_GEN_TARGETS[*]} failed"
  mkdir -p "$FUZZ_OUT/lib"
  local gen_srcs=() common_srcs=()
  mapfile -t gen_srcs < <(find "$FUZZ_OUT/gen" -name '*.c' | sort)
  mapfile -t common_srcs < <(find "$DOJO_ROOT/libcommon" -maxdepth 1 -name '*.c' | sort)
  local pairs=() o
  fuzz_archive "$FUZZ_OUT/lib/libgen.a" "${gen_srcs[@]}" || die "fuzz: compiling the generated code failed"
  fuzz_archive "$FUZZ_OUT/lib/libcommon.a" "${common_srcs[@]}" || die "fuzz: compiling libcommon failed"
  local gw_srcs=() want_gw=0
  for t in "${targets[@]}"; do [[ " ${FUZZ_SRCS[$t]} " == *" gateway "* ]] && want_gw=1; done
  if (( want_gw )); then
    mapfile -t gw_srcs < <(find "$DOJO_ROOT/services/gateway" -maxdepth 1 -name '*.c' ! -name main.c | sort)
    fuzz_archive "$FUZZ_OUT/lib/libgateway.a" "${gw_srcs[@]}" || die "fuzz: compiling the gateway failed"
  fi
  for t in "${targets[@]}"; do
    local tobjs=() tlibs=()
    pairs=()
    for s in ${FUZZ_SRCS[$t]}; do
      if [[ $s == gateway ]]; then tlibs+=("$FUZZ_OUT/lib/libgateway.a"); continue; fi
      o=$FUZZ_OUT/obj/$s; o=${o%.c}.o
      pairs+=("$DOJO_ROOT/$s=$o"); tobjs+=("$o")
    done
    fuzz_cc_many -fsanitize=fuzzer-no-link -- "${pairs[@]}" || die "fuzz: compiling $t's sources failed"
    o=$FUZZ_OUT/obj/tests/fuzz/fuzz_$t.o
    fuzz_cc "$FUZZ_DIR/fuzz_$t.c" "$o" -fsanitize=fuzzer -Werror || die "fuzz: compiling fuzz_$t.c failed"
    local bin=$FUZZ_OUT/bin/fuzz_$t inputs
    inputs=("$o" "${tobjs[@]}" "${tlibs[@]}" "$FUZZ_OUT/lib/libcommon.a" "$FUZZ_OUT/lib/libgen.a")
    fuzz_newer "$bin" "${inputs[@]}" || continue
    "$FUZZ_CC" -fsanitize=fuzzer,address,undefined -o "$bin.tmp" "${inputs[@]}" "${FUZZ_LIBS[@]}" \
      || die "fuzz: linking fuzz_$t failed"
    mv "$bin.tmp" "$bin"
  done
  ok "fuzz targets built in $(rel "$FUZZ_OUT/bin"): ${targets[*]}"
}

# libFuzzer's options for TARGET, besides the corpus directories. The
# timeout only catches hangs: one input takes milliseconds, but on a busy
# machine a process may wait many seconds for a CPU.
fuzz_opts() {  # TARGET
  local t=$1
  printf '%s\n' "-max_len=${FUZZ_MAX_LEN[$t]}" "-timeout=${DOJO_FUZZ_TIMEOUT:-120}" -rss_limit_mb=2048 \
    -close_fd_mask=2 -print_final_stats=1
  [[ -f $FUZZ_DIR/$t.dict ]] && printf '%s\n' "-dict=$FUZZ_DIR/$t.dict"
  return 0
}

# A bounded run of each target over its seed corpus: fails on a crash, a
# leak, undefined behaviour or a timeout. Runs per target and seconds per
# target from DOJO_FUZZ_SMOKE_RUNS / DOJO_FUZZ_SMOKE_SECONDS.
fuzz_smoke() {  # [TARGET...]
  local targets=("$@") t rc=0 failed=() runs=${DOJO_FUZZ_SMOKE_RUNS:-20000} secs=${DOJO_FUZZ_SMOKE_SECONDS:-20}
  (( ${#targets[@]} )) || targets=("${FUZZ_TARGETS[@]}")
  local tmp; tmp=$(mktemp -d /tmp/dojo-fuzz.XXXXXX)
  for t in "${targets[@]}"; do
    local opts log=$tmp/$t.log
    mapfile -t opts < <(fuzz_opts "$t")
    mkdir -p "$tmp/$t"
    # New inputs go to the scratch directory (first), never into the repo's seeds;
    # a fixed seed: a failing smoke run fails again the same way.
    if fuzz_exec "$FUZZ_OUT/bin/fuzz_$t" "${opts[@]}" -seed=1 -runs="$runs" -max_total_time="$secs" \
         -artifact_prefix="$tmp/$t-" "$tmp/$t" "$FUZZ_DIR/corpus/$t" >"$log" 2>&1; then
      ok "fuzz $t: $(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$') runs clean"
    else
      rc=1; failed+=("$t")
      tail -n 60 "$log" >&2
      local a
      for a in "$tmp/$t"-*; do
        [[ -f $a ]] || continue
        mkdir -p "$FUZZ_OUT/crashes"
        cp "$a" "$FUZZ_OUT/crashes/"
        warn "fuzz $t: reproducer kept as $(rel "$FUZZ_OUT/crashes")/$(basename "$a")"
      done
    fi
  done
  rm -rf "$tmp"
  (( rc == 0 )) || warn "fuzz targets failing: ${failed[*]}"
  return $rc
}

# The `fuzz` stage of ./dojo test.
fuzz_stage() {
  info "stage fuzz: build the libFuzzer targets, a bounded run of each"
  if ! ( fuzz_build ); then
    stage_result fuzz fail "building the fuzz targets failed"
    return 0
  fi
  if fuzz_smoke; then stage_result fuzz pass; else stage_result fuzz fail "a fuzz target failed"; fi
}

# ./dojo fuzz                      build every target
# ./dojo fuzz smoke [TARGET...]    the test stage's bounded runs
# ./dojo fuzz TARGET [ARGS...]     a campaign: runs until stopped (or ARGS say,
#                                  e.g. -runs=1000000 -jobs=2), growing the working
#                                  corpus .dojo/fuzz/corpus/TARGET from the seeds;
#                                  crashes land in .dojo/fuzz/crashes/
# ./dojo fuzz TARGET FILE...       replays FILEs (reproducers) through TARGET
cmd_fuzz() {
  local t=${1:-}
  case $t in
    '') fuzz_build ;;
    smoke) shift; fuzz_build "$@" && fuzz_smoke "$@" ;;
    *)
      shift
      fuzz_build "$t"
      local opts; mapfile -t opts < <(fuzz_opts "$t")
      if (( $# )) && [[ -f $1 ]]; then
        fuzz_exec "$FUZZ_OUT/bin/fuzz_$t" "${opts[@]}" "$@"; return
      fi
      mkdir -p "$FUZZ_OUT/corpus/$t" "$FUZZ_OUT/crashes"
      info "fuzzing $t: corpus $(rel "$FUZZ_OUT/corpus/$t") (+ seeds $(rel "$FUZZ_DIR/corpus/$t")), crashes to $(rel "$FUZZ_OUT/crashes")/"
      fuzz_exec "$FUZZ_OUT/bin/fuzz_$t" "${opts[@]}" -artifact_prefix="$FUZZ_OUT/crashes/$t-" "$@" \
        "$FUZZ_OUT/corpus/$t" "$FUZZ_DIR/corpus/$t"
      ;;
  esac
}
