#!/usr/bin/env bash
# Checks that tests/data/corpus/*.jsonl are byte-for-byte the shared corpus they were copied
# from. Usage: check_shared_corpus.sh COPY_DIR SHARED_DIR. Exits 77 (CTest: skipped) when
# SHARED_DIR does not exist: a clone on its own (CI) has only the copy.
set -euo pipefail
copy="$1"
shared="$2"
if [[ ! -d "$shared" ]]; then
  echo "no shared corpus at $shared: skipped (set DETOUR_SHARED_CORPUS_DIR to compare)"
  exit 77
fi
shopt -s nullglob
status=0
files=("$shared"/*.jsonl)
if ((${#files[@]} == 0)); then
  echo "no .jsonl files in $shared"
  exit 1
fi
for f in "${files[@]}"; do
  name="$(basename "$f")"
  if [[ ! -f "$copy/$name" ]]; then
    echo "missing: $copy/$name (the shared corpus has it: copy $f)"
    status=1
  elif ! cmp -s "$f" "$copy/$name"; then
    echo "differs: $copy/$name from $f (copy the shared file over it)"
    status=1
  fi
done
for f in "$copy"/*.jsonl; do
  [[ -f "$shared/$(basename "$f")" ]] || { echo "not in the shared corpus: $f"; status=1; }
done
((status == 0)) && echo "tests/data/corpus matches $shared (${#files[@]} files)"
exit "$status"
