import os

# One torch thread: tests share two cores with llama.cpp.
os.environ.setdefault("OMP_NUM_THREADS", "1")
