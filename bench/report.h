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

void bench_report(const char *name, double value, const char *unit,
		  enum bench_better better, const char *baseline,
		  double baseline_value);

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC). */
uint64_t bench_now_ns(void);

/* Median of n doubles; sorts v in place. n > 0. */
double bench_median(double *v, int n);

#endif
