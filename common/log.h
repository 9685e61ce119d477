/* log.h — level-checked logging to stderr, and rate limiting for bad input.
 *
 * The level is checked before the arguments are evaluated (Redis's
 * serverLog idea), so a disabled debug line costs one comparison. Lines look
 * like:  2026-11-25T12:00:00.123Z rtvd[1234] warn consensus: text
 * Thread-safe (one fprintf per line).
 */
#ifndef RTV_COMMON_LOG_H
#define RTV_COMMON_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum rtv_log_level { RTV_LOG_DEBUG, RTV_LOG_INFO, RTV_LOG_WARN, RTV_LOG_ERROR, RTV_LOG_OFF };

extern enum rtv_log_level rtv_log_level_cur;

/* Sets the program name shown in each line (default "rtvnet"). */
void rtv_log_init(const char *prog, enum rtv_log_level level);
/* Parses "debug|info|warn|error|off"; returns 0 or -EINVAL. */
int rtv_log_level_parse(const char *s, enum rtv_log_level *out);

void rtv_log_write(enum rtv_log_level level, const char *mod, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define rtv_log(level, mod, ...)                                               \
	do {                                                                   \
		if ((level) >= rtv_log_level_cur)                              \
			rtv_log_write((level), (mod), __VA_ARGS__);            \
	} while (0)
#define rtv_debug(mod, ...) rtv_log(RTV_LOG_DEBUG, mod, __VA_ARGS__)
#define rtv_info(mod, ...) rtv_log(RTV_LOG_INFO, mod, __VA_ARGS__)
#define rtv_warn(mod, ...) rtv_log(RTV_LOG_WARN, mod, __VA_ARGS__)
#define rtv_error(mod, ...) rtv_log(RTV_LOG_ERROR, mod, __VA_ARGS__)

/* A token bucket for log lines about bad input (OVS's vlog_rate_limit):
 * at most `burst` lines, refilled at `per_min` lines a minute; lines beyond
 * are counted and reported with the next line that passes. */
struct rtv_ratelimit {
	uint32_t per_min, burst;
	/* private */
	uint64_t tokens, last_ms;	/* tokens in 1/60000 line */
	uint64_t suppressed;
};
#define RTV_RATELIMIT_INIT(per_min, burst) { (per_min), (burst), (uint64_t)(burst) * 60000, 0, 0 }

/* True if a line may be logged now. *suppressed (if non-NULL) receives the
 * number of lines dropped since the last one that passed. */
bool rtv_ratelimit_ok(struct rtv_ratelimit *rl, uint64_t *suppressed);

#endif
