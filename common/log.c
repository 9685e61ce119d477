#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum rtv_log_level rtv_log_level_cur = RTV_LOG_INFO;
static const char *log_prog = "rtvnet";
static const char *const level_names[] = { "debug", "info", "warn", "error", "off" };

void rtv_log_init(const char *prog, enum rtv_log_level level)
{
	log_prog = prog;
	rtv_log_level_cur = level;
}

int rtv_log_level_parse(const char *s, enum rtv_log_level *out)
{
	for (int i = 0; i <= RTV_LOG_OFF; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum rtv_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void rtv_log_write(enum rtv_log_level level, const char *mod, const char *fmt, ...)
{
	char msg[1024], stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03ldZ %s[%d] %s %s: %s\n", stamp, ts.tv_nsec / 1000000,
		log_prog, (int)getpid(), level_names[level], mod, msg);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Not thread-safe by design: each limiter belongs to one thread. Tokens are
 * counted in 1/60,000 of a line, so per_min lines a minute is exactly
 * per_min units a millisecond and no refill is lost to rounding. */
bool rtv_ratelimit_ok(struct rtv_ratelimit *rl, uint64_t *suppressed)
{
	uint64_t now = now_ms(), max = (uint64_t)rl->burst * 60000;

	if (rl->last_ms == 0 || now < rl->last_ms)
		rl->last_ms = now;
	rl->tokens += (now - rl->last_ms) * rl->per_min;
	if (rl->tokens > max)
		rl->tokens = max;
	rl->last_ms = now;
	if (rl->tokens < 60000) {
		rl->suppressed++;
		return false;
	}
	rl->tokens -= 60000;
	if (suppressed)
		*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}
