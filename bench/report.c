#include "bench/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static FILE *open_out(const char *env, const char *dflt)
{
	const char *path = getenv(env);

	return fopen(path && *path ? path : dflt, "a");
}

void bench_report(const char *name, double value, const char *unit,
		  enum bench_better better, const char *baseline,
		  double baseline_value)
{
	const char *b = better == BENCH_LOWER ? "lower" : "higher";
	FILE *f;

	if (baseline)
		printf("  %-36s %14.3f %-10s (%s is better)  baseline %-20s %14.3f\n",
		       name, value, unit, b, baseline, baseline_value);
	else
		printf("  %-36s %14.3f %-10s (%s is better)\n", name, value, unit, b);
	fflush(stdout);

	f = open_out("RTV_BENCH_OUT", "build/bench/results.jsonl");
	if (!f) {
		perror("bench: results file");
		return;
	}
	fprintf(f, "{\"name\": \"%s\", \"value\": %.6g, \"unit\": \"%s\", \"better\": \"%s\"",
		name, value, unit, b);
	if (baseline)
		fprintf(f, ", \"baseline\": \"%s\", \"baseline_value\": %.6g",
			baseline, baseline_value);
	fprintf(f, "}\n");
	fclose(f);

	f = open_out("RTV_BENCH_TABLE", "build/bench/results.tsv");
	if (f) {
		fprintf(f, "%s\t%.6g\t%s\t%s\t%s\t%.6g\n", name, value, unit, b,
			baseline ? baseline : "-", baseline ? baseline_value : 0.0);
		fclose(f);
	}
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
