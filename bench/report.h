/* report.h — how every benchmark publishes a figure.
 *
 * Each figure is printed as a table row and appended as one JSON object per
 * line to $RTV_BENCH_OUT (default build/bench/results.jsonl):
 *   {"name": ..., "value": N, "unit": ..., "better": "lower"|"higher",
 *    "baseline": ..., "baseline_value": N}
 * Baseline fields are written only when baseline != NULL. Figure names are
 * stable across versions (issues name them); do not rename them.
 */
#ifndef RTV_BENCH_REPORT_H
#define RTV_BENCH_REPORT_H

#include <stdint.h>

enum bench_better { BENCH_LOWER, BENCH_HIGHER };

/* Exit status of a benchmark that cannot run here: only for "needs root"
 * (network namespaces), the one thing `make bench` as a user lacks. Any
 * other missing piece (a package, a build product) is a failure, exit 1.
 * scripts/run-bench.sh counts a skip apart and fails it when run as root;
 * it also fails a benchmark that exits 0 without a figure. */
#define BENCH_SKIPPED 77

void bench_report(const char *name, double value, const char *unit,
		  enum bench_better better, const char *baseline,
		  double baseline_value);

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC). */
uint64_t bench_now_ns(void);

/* Median of n doubles; sorts v in place. n > 0. */
double bench_median(double *v, int n);

#endif
