/* bench_lab.c — the lab figures of `make demo` (group `lab`; issue 6).
 *
 * Runs scripts/demo.sh (experiment 1 simulated, then on the lab rack:
 * experiment 2 without and with rtvnet, experiment 3, the leader kill) with
 * its results in a temporary folder, shows its output, and reports the lab
 * figures it wrote, under the names the issue gives:
 *   lab.exp2.with.max_ms.A / .B   baseline: the paper's Table 9 (13.9 / 14.0)
 *   lab.exp2.with.misses          late + lost of A and B with rtvnet
 *   lab.exp2.without.misses       ... without (same run)
 *   lab.exp2.with.late_rtvnet     late packets rtvd held beyond its share,
 *                                 beside those the lab's hops made late
 *   lab.exp3.recovery_s           baseline: the paper's 20 s
 *   lab.leaderkill.misses         (and .misses_near_kill, .failover_ms)
 *   lab.demo.wall_s               the whole demo
 * plus the other lab.* figures the scripts write. The demo's own
 * results.jsonl stays in the folder (printed) for a look at the CSVs and
 * plots. The demo exits 1 when one of its claims did not hold: the figures
 * say by how much, so the group still reports them and says which claim
 * failed; it fails when the demo broke (exit 2+) or wrote no figure. Needs
 * root (network namespaces); without it the group exits BENCH_SKIPPED.
 * Runtime: the demo's, about 80 s.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/report.h"

static int report_file(const char *path)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "bench_lab: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		json_error_t e;
		json_t *o = json_loads(line, 0, &e), *bv;
		const char *name, *unit, *better, *base = NULL;
		double value, base_v = 0;

		if (!o || json_unpack(o, "{s:s, s:F, s:s, s:s}", "name", &name, "value", &value,
				      "unit", &unit, "better", &better) != 0) {
			fprintf(stderr, "bench_lab: %s: not a figure: %s", path, line);
			json_decref(o);
			continue;
		}
		bv = json_object_get(o, "baseline_value");
		if (json_is_number(bv) && json_unpack(o, "{s:s}", "baseline", &base) == 0)
			base_v = json_number_value(bv);
		else
			base = NULL;
		if (!strncmp(name, "lab.", 4)) {
			bench_report(name, value, unit, strcmp(better, "higher") ? BENCH_LOWER : BENCH_HIGHER,
				     base, base_v);
			n++;
		}
		json_decref(o);
	}
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/rtv-benchlab.XXXXXX", cmd[PATH_MAX * 2], build[PATH_MAX], path[PATH_MAX + 32];
	const char *slash = strrchr(argv[0], '/');
	int rc, n;

	(void)argc;
	if (geteuid() != 0) {
		printf("  lab: skipped (the lab needs root: network namespaces)\n");
		return BENCH_SKIPPED;
	}
	/* <build>/bench/bench_lab -> <build> */
	snprintf(build, sizeof(build), "%.*s", slash ? (int)(slash - argv[0]) : 1, slash ? argv[0] : ".");
	if ((slash = strrchr(build, '/')))
		build[slash - build] = '\0';
	else
		snprintf(build, sizeof(build), ".");
	if (!mkdtemp(dir)) {
		perror("bench_lab: mkdtemp");
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "DEMO_DIR=%s KEEP=0 scripts/demo.sh %s", dir, build);
	fflush(stdout);
	rc = system(cmd);
	snprintf(path, sizeof(path), "%s/results.jsonl", dir);
	n = report_file(path);
	printf("  lab: %d figures from the demo (its files: %s)\n", n < 0 ? 0 : n, dir);
	if (n <= 0 || rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) > 1) {
		fprintf(stderr, "bench_lab: the demo failed (status %d)\n", rc);
		return 1;
	}
	if (WEXITSTATUS(rc) == 1)
		printf("  lab: the demo ran, but claims did not hold (its CLAIM FAILED lines above)\n");
	return 0;
}
