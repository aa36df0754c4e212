# Sourced by gpu_check.sh and gpu_variants.sh (from the repo root): the shared settings and
# `run`, which gives each benchmark process its own timeout inside one total budget.
#
# Reads (with defaults): PYTHON BATCH IMAGE_SIZE DTYPE STEPS NUM_CLASSES BUDGET, $OUT.
# Sets: RESULTS (where NAME.out/.log/.json go), START, ORDER (the names run, in order).
PYTHON=${PYTHON:-python3}
BATCH=${BATCH:-256}
IMAGE_SIZE=${IMAGE_SIZE:-224}
DTYPE=${DTYPE:-bfloat16}
STEPS=${STEPS:-20}
NUM_CLASSES=${NUM_CLASSES:-1000}
RESULTS=${OUT:-$(mktemp -d)}
mkdir -p "$RESULTS"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-1}
START=$(date +%s)
ORDER=()

left() { echo $(( BUDGET - ($(date +%s) - START) )); }

# run NAME TIMEOUT MIN_LEFT XLA_FLAGS COMMAND...: stdout's last line (JSON) -> NAME.json,
# stderr -> NAME.log. Skipped when under MIN_LEFT seconds of BUDGET remain. XLA_FLAGS applies
# to this run only; '-' leaves the caller's $XLA_FLAGS as it is.
run() {
  local name=$1 limit=$2 min=$3 flags=$4; shift 4
  ORDER+=("$name")
  local t; t=$(left)
  (( t > limit )) && t=$limit
  if (( t < min )); then
    echo "[$name] skipped: ${t}s left of the ${BUDGET}s budget (needs ${min}s)" \
      | tee "$RESULTS/$name.log"
    return 1
  fi
  local rc
  if [[ $flags == - ]]; then
    echo "[$name] $(date +%T) timeout ${t}s: $*"
    timeout "$t" "$@" > "$RESULTS/$name.out" 2> "$RESULTS/$name.log"; rc=$?
  else
    echo "[$name] $(date +%T) timeout ${t}s${flags:+ XLA_FLAGS='$flags'}: $*"
    XLA_FLAGS="$flags" timeout "$t" "$@" > "$RESULTS/$name.out" 2> "$RESULTS/$name.log"; rc=$?
  fi
  if (( rc == 0 )); then
    tail -n 1 "$RESULTS/$name.out" > "$RESULTS/$name.json"
    echo "[$name] done in $(( $(date +%s) - START ))s total"
  else
    echo "[$name] FAILED (exit $rc$( ((rc == 124)) && echo ', timed out')); last log lines:"
    tail -n 5 "$RESULTS/$name.log" | cut -c1-300 | sed 's/^/    /'
  fi
  return $rc
}
