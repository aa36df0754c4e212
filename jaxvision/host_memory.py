"""Freed memory stays in the process: the glibc malloc settings `jaxvision` starts with.

Why: XLA:CPU allocates a step's temporary buffers when the step runs and frees them when it
ends. glibc serves large blocks with fresh mmaps and unmaps them on free, and trims the top
of its heap, so every step faulted its working memory back in, page by page, each page
zeroed by the kernel. Measured (BUILD_NOTES.md, session 14): LeNet-5's step at batch 128,
alone in a process, took about 6,000 minor page faults and 36 ms, against 17 ms and no
faults once the blocks stayed allocated; a ResNet-50 step at 224 (batch 16) faulted 2.5 GB
back in every step. With mmap off for malloc (M_MMAP_MAX 0) and heap trimming off
(M_TRIM_THRESHOLD -1), freed blocks are reused by the next step: no faults after the first.
Both hold only in glibc's main arena, so a third setting sends every thread there (M_ARENA_MAX
1): XLA runs a step on its worker threads, and in a thread's own arena glibc maps a block over
64 MiB afresh whatever M_MMAP_MAX says and unmaps a heap of the arena as soon as it is empty.
Measured (session 17): the MixMatch config's step faulted 30,000 pages (117 MiB) back in every
step with the first two settings alone, 80 ms of system time; 2,000-3,000 pages and 6-8 ms with
one arena, the step 1.2x faster (its whole 4,000-step run 1.07x). The cost: the process keeps
its peak heap until it exits (what a training process holds anyway), and threads share the
main arena's lock (XLA allocates a step's buffers in a few large blocks).

Linux with glibc only; anywhere else this does nothing. Called by the CLI at start, and by the
benchmarks for every arm they compare, so ratios to a bare loop measure code, not malloc.
"""

import ctypes
import platform

# mallopt(3) parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
M_ARENA_MAX = -8


def keep_freed_memory() -> bool:
  """Sets the three options above; True if glibc took all three. Call it before threads
  start: a thread that has malloc'ed already keeps its own arena."""
  if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
    return False
  try:
    libc = ctypes.CDLL("libc.so.6")
  except OSError:
    return False
  # mallopt takes a C int: -1 disables trimming ("Setting M_TRIM_THRESHOLD to -1 disables
  # trimming completely", mallopt(3)); a large positive value would be truncated.
  return (bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, -1))
          and bool(libc.mallopt(M_ARENA_MAX, 1)))
