# Link flags for every tests/bench/bench_*.c binary (see the Makefile's bench
# section). bench_ring compares kernel/ring.h with concurrencykit's ck_ring.
BENCH_LIBS += -lck
